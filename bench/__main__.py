"""``python -m bench`` (``make bench``): syncbot against the network's limit and its peers;
``python -m bench sheet-scale ...``: a full sheet, this tree against an older syncbot."""

import sys

if sys.argv[1:2] == ["sheet-scale"]:
    from bench.sheet_scale import main as sheet_scale

    sys.exit(sheet_scale(sys.argv[2:]))

from bench.harness import main

sys.exit(main())
