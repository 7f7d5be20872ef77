"""Whether a listing saw every number: the proof a removal needs (CONTRACT section 3).

A listing is not a snapshot: numbers are bought, released and reassigned while syncbot pages
through them, and offset pages shift. A listing is shown complete when the provider's own
total for the whole listing stayed the same from its first answer to a check sent after its
last page, and the listing saw that many distinct numbers. With a steady total, every number
seen was there when the listing started (numbers bought meanwhile are offset by as many
released, and a release moves later numbers back, which a shortfall shows), so a count that
reaches the total leaves none out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Census:
    """The totals a listing's answers gave: the whole listing's, and each partition's."""

    # Every total an answer for the whole listing gave, in order (None: it gave none).
    whole: list[int | None] = field(default_factory=list)
    # Each partition's totals (orgapi's status chains), in order.
    parts: dict[str, list[int | None]] = field(default_factory=dict)
    # Records without an id: never counted, so they always leave a listing unproven.
    skipped: int = 0

    def saw(self, scope: str | None, total: int | None) -> None:
        if scope is None:
            self.whole.append(total)
        else:
            self.parts.setdefault(scope, []).append(total)

    def steady_total(self, since: int = 0) -> int | None:
        """The whole listing's total when every answer from the ``since``-th on gave the
        same one; None when one gave none or they differ."""
        totals = self.whole[since:]
        if not totals or None in totals or len(set(totals)) != 1:
            return None
        return totals[0]

    def grown(self) -> list[str]:
        """The partitions whose total grew while they were listed: where numbers went."""
        out = []
        for scope, totals in self.parts.items():
            known = [t for t in totals if t is not None]
            if len(known) >= 2 and known[-1] > known[0]:
                out.append(scope)
        return out

    def shortfall(self, unique: int, since: int = 0) -> str | None:
        """Why a listing of ``unique`` distinct numbers is not shown complete (None: it is)."""
        if self.skipped:
            return f"{self.skipped:,} records had no id"
        totals = [t for t in self.whole[since:] if t is not None]
        if len(totals) < len(self.whole[since:]) or not totals:
            return "the API gave no total to check it against"
        total = self.steady_total(since)
        if total is None:
            return (
                f"the API's total changed while it was listed ({totals[0]:,} to "
                f"{totals[-1]:,}): numbers were bought or released meanwhile"
            )
        if unique != total:
            return f"it listed {unique:,} distinct numbers but the API reported {total:,}"
        return None
