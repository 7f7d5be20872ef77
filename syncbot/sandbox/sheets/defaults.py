"""What Google gives every new spreadsheet, as ``spreadsheets.get`` reports it (copied from
Google's answers recorded in gspread's cassettes, tests/data/gspread-cassettes)."""

from __future__ import annotations

import copy
from typing import Any

_WHITE = {"red": 1, "green": 1, "blue": 1}


def _theme(kind: str, red: float, green: float, blue: float) -> dict[str, Any]:
    return {"colorType": kind, "color": {"rgbColor": {"red": red, "green": green, "blue": blue}}}


_PROPERTIES: dict[str, Any] = {
    "locale": "en_US",
    "autoRecalc": "ON_CHANGE",
    "timeZone": "Etc/GMT",
    "defaultFormat": {
        "backgroundColor": _WHITE,
        "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
        "verticalAlignment": "BOTTOM",
        "wrapStrategy": "OVERFLOW_CELL",
        "textFormat": {
            "foregroundColor": {},
            "fontFamily": "arial,sans,sans-serif",
            "fontSize": 10,
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "foregroundColorStyle": {"rgbColor": {}},
        },
        "backgroundColorStyle": {"rgbColor": _WHITE},
    },
    "spreadsheetTheme": {
        "primaryFontFamily": "Arial",
        "themeColors": [
            {"colorType": "TEXT", "color": {"rgbColor": {}}},
            {"colorType": "BACKGROUND", "color": {"rgbColor": _WHITE}},
            _theme("ACCENT1", 0.25882354, 0.52156866, 0.95686275),
            _theme("ACCENT2", 0.91764706, 0.2627451, 0.20784314),
            _theme("ACCENT3", 0.9843137, 0.7372549, 0.015686275),
            _theme("ACCENT4", 0.20392157, 0.65882355, 0.3254902),
            _theme("ACCENT5", 1, 0.42745098, 0.003921569),
            _theme("ACCENT6", 0.27450982, 0.7411765, 0.7764706),
            _theme("LINK", 0.06666667, 0.33333334, 0.8),
        ],
    },
}


def spreadsheet_properties(title: str) -> dict[str, Any]:
    """A new spreadsheet's ``properties``, in Google's order."""
    return {"title": title, **copy.deepcopy(_PROPERTIES)}
