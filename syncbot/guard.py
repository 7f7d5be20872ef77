"""The mass-removal guard, in the manner of ``rsync --max-delete``.

A listing that would take away a large share of an account's numbers is far more often a
provider fault (an empty ``data`` list, a renamed field failing every record, a truncated
listing) than a real change, and applying it would delete the numbers' history and people's
rows in the sheet. Such a source fails instead, so its stored rows stay, marked stale, until an
operator accepts the removal. The guard counts the stored keys a listing no longer has (re-keyed
numbers aside), not the change in totals: an account whose ids all changed for other numbers of
the same count is a 100% removal, not none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from syncbot.logs import event
from syncbot.models import SourceResult

log = logging.getLogger(__name__)

_ONCE = "If they were really removed, run `syncbot sync --allow-removals` once to accept it"


def removal_refusal(
    result: SourceResult, *, stored: int, lost: int, max_percent: int
) -> str | None:
    """Why this listing must not replace the ``stored`` numbers of its account, ``lost`` of
    which it no longer has (None: it may)."""
    kept = result.count
    if stored and result.invalid > kept:
        why = (
            f"{result.invalid:,} of the {result.invalid + kept:,} records it listed failed "
            "validation (see the log), more likely a change in the API's format than real "
            "numbers"
        )
        accept = _ONCE
    elif lost <= 0:
        return None
    elif kept == 0 and result.invalid == 0:
        why = f"the API listed no numbers, but {stored:,} are stored for it"
        accept = _ONCE
    elif lost == stored:
        why = (
            f"the listing has none of its {stored:,} stored numbers (every id and number is "
            "new: another organization, or ids the provider changed along with the numbers)"
        )
        accept = _ONCE
    elif lost * 100 > stored * max_percent:
        why = (
            f"the listing would remove {lost:,} of its {stored:,} numbers "
            f"({lost * 100 / stored:.0f}%), more than SYNC_MAX_REMOVAL_PERCENT={max_percent} "
            "allows"
        )
        accept = f"{_ONCE}, or raise SYNC_MAX_REMOVAL_PERCENT"
    else:
        return None
    return (
        f"{result.key}: {why}. That is more likely a provider fault than a real change, so its "
        f"stored numbers are kept, marked stale. {accept}."
    )


def guard_removals(
    results: Iterable[SourceResult],
    stored: Mapping[str, int],
    unlisted: Mapping[str, int],
    *,
    max_percent: int,
    allow: bool,
) -> None:
    """Fail every listed source whose listing would remove too much (see ``removal_refusal``);
    with ``allow``, let it through with a warning instead.

    ``unlisted``: each account's stored keys that its listing no longer has, re-keyed numbers
    aside. Only a listing shown complete removes them; an incomplete one keeps them,
    unconfirmed, and says how many.
    """
    for result in results:
        if result.status != "ok":
            continue
        had = stored.get(result.key, 0)
        lost = unlisted.get(result.key, 0)
        if not result.complete:
            result.unconfirmed = max(lost, 0)
            lost = 0
        reason = removal_refusal(result, stored=had, lost=lost, max_percent=max_percent)
        if reason is None:
            continue
        if allow:
            if lost > 0:
                result.warnings.append(
                    f"{lost:,} of {had:,} numbers removed, as --allow-removals let"
                )
            event(log, logging.WARNING, "mass removal accepted", source=result.key)
            continue
        event(log, logging.ERROR, "mass removal refused", source=result.key, reason=reason)
        # A failed source's staged listing is left out of the commit: its stored rows stay.
        result.status, result.error, result.count = "failed", reason, 0
