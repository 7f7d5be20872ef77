"""``python -m bench`` (``make bench``): syncbot against the network's limit and its peers."""

import sys

from bench.harness import main

sys.exit(main())
