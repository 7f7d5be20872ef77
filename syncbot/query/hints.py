"""Filter values that match nothing in the latest sync, told with the values that do exist.

``country:UK`` or ``type:toll-free`` would otherwise answer "no numbers", like a real filter
without hits; the hint names the values the inventory holds, the closest first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from syncbot.query.grammar import quoted

_PLURALS = {
    "source": "sources",
    "account": "accounts",
    "country": "countries",
    "type": "types",
    "carrier": "carriers",
}
# ISO 3166 reserves UK for the United Kingdom, whose code is GB.
_ALIASES = {"country": {"uk": "gb"}}
_SEPARATORS = re.compile(r"[\s_-]+")
SHOWN = 8


def _loose(text: str) -> str:
    return _SEPARATORS.sub("_", text.strip().lower())


def _closeness(key: str, asked: str, value: str) -> float:
    wanted = _loose(_ALIASES.get(key, {}).get(asked.lower(), asked))
    if wanted == _loose(value):
        return 2.0
    return difflib.SequenceMatcher(None, wanted, _loose(value)).ratio()


def _closest_first(key: str, asked: str, values: Iterable[str]) -> list[str]:
    scored = [(-_closeness(key, asked, value), value.lower(), value) for value in values]
    return [value for *_, value in sorted(scored)]


def unknown_values(
    filters: Mapping[str, frozenset[str]], existing: Mapping[str, set[str]]
) -> list[str]:
    """A hint for each filter value that no number of the latest sync has."""
    out = []
    for key, wanted in sorted(filters.items()):
        values = existing.get(key, set())
        known = {v.lower() for v in values}
        for asked in sorted(wanted):
            if asked.lower() in known:
                continue
            ranked = _closest_first(key, asked, values)
            if not ranked:
                listing = f"no number of the latest sync has a {key}"
            else:
                listing = f"its {_PLURALS[key]}: {', '.join(ranked[:SHOWN])}"
                if len(ranked) > SHOWN:
                    listing += f" and {len(ranked) - SHOWN} more"
            out.append(
                f"{quoted(f'{key}:{asked}')} matches no number of the latest sync; {listing}."
            )
    return out
