"""syncbot: one inventory of a team's voice-agent phone numbers across orgapi and DialNexa."""

__version__ = "0.1.0"
