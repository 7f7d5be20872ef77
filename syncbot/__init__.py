"""syncbot: one inventory of a team's voice-agent phone numbers across orgapi and DialNexa."""

import sys

from syncbot.pythons import EXIT_CONFIG, problem

__version__ = "0.1.0"

# First of all: on another Python the first failure would be some obscure import error.
if (_refusal := problem(sys.version_info[:3], sys.executable)) is not None:
    print(_refusal, file=sys.stderr)
    raise SystemExit(EXIT_CONFIG)
