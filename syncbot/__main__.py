import sys

from syncbot.cli import main

# Guarded: a worker process (syncbot/providers/listing.py) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
