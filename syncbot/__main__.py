import sys

from syncbot.cli import main

sys.exit(main())
