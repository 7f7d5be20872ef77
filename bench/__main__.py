"""``python -m bench`` (``make bench``): syncbot against the network's limit and its peers;
``python -m bench sheet-scale ...``: a full sheet, this tree against an older syncbot;
``python -m bench web-sync ...``: ``/numbers sync`` on the web dyno, serve and its sync summed."""

import sys

if sys.argv[1:2] == ["sheet-scale"]:
    from bench.sheet_scale import main as sheet_scale

    sys.exit(sheet_scale(sys.argv[2:]))

if sys.argv[1:2] == ["web-sync"]:
    from bench.web_sync import main as web_sync

    sys.exit(web_sync(sys.argv[2:]))

from bench.harness import main

sys.exit(main())
