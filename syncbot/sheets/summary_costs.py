"""The Summary's money: what all numbers, the unassigned ones and those unassigned for
``IDLE_DAYS`` days or more cost a month, in all and by source, country and type.

Fed a batch of numbers at a time with their prices (``CostRules.price``), as the Summary's
counts are. Pure: no Google types and no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbot.costs import IDLE_DAYS, idle_since, round_money
from syncbot.sheets import ops
from syncbot.sheets.layout import Cell, Row, cut, or_blank
from syncbot.store.base import InventoryBatch

COLUMNS = ("All numbers", "Unassigned", f"Unassigned {IDLE_DAYS}+ days")


def money_format(currency: str) -> dict[str, Any]:
    """How the Summary shows amounts: grouped, with the currency's own decimals."""
    from babel.numbers import get_currency_precision  # noqa: PLC0415 - babel loads on use

    decimals = get_currency_precision(currency)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return {"numberFormat": {"type": "NUMBER", "pattern": pattern}}


def summary_cell(value: Cell, money: Mapping[str, Any] | None) -> dict[str, Any]:
    """A Summary cell; in the Summary a float is an amount of money, shown as ``money``."""
    if isinstance(value, float) and money is not None:
        return {"userEnteredValue": {"numberValue": value}, "userEnteredFormat": money}
    return ops.ours(value)


@dataclass(slots=True)
class _Figures:
    """All, unassigned and long-idle amounts."""

    amounts: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    def add(self, price: float, *, unassigned: bool, idle: bool) -> None:
        self.amounts[0] += price
        if unassigned:
            self.amounts[1] += price
        if idle:
            self.amounts[2] += price


@dataclass(slots=True)
class CostTally:
    """Money by dimension; ``now`` decides which numbers have been idle long enough."""

    currency: str
    now: dt.datetime
    total: _Figures = field(default_factory=_Figures)
    by: dict[str, dict[str, _Figures]] = field(
        default_factory=lambda: {"source": {}, "country": {}, "type": {}}
    )
    unpriced: int = 0

    def add_batch(self, batch: InventoryBatch, prices: Sequence[float | None]) -> None:
        """Each number of ``batch`` at its price (None: no rule prices it)."""
        b = batch.numbers
        for price, source, account, status, since, country, kind in zip(
            prices,
            b.source,
            b.account,
            b.status,
            b.unassigned_since,
            b.country_code,
            b.number_type,
            strict=True,
        ):
            if price is None:
                self.unpriced += 1
                continue
            unassigned = status == "unassigned"
            idle = unassigned and idle_since(since, now=self.now, days=IDLE_DAYS)
            self.total.add(price, unassigned=unassigned, idle=idle)
            for dimension, name in (
                ("source", f"{source}/{account}"),
                ("country", or_blank(country)),
                ("type", or_blank(kind)),
            ):
                figures = self.by[dimension].get(name)
                if figures is None:
                    figures = self.by[dimension][name] = _Figures()
                figures.add(price, unassigned=unassigned, idle=idle)

    def rows(self) -> list[Row]:
        """The money block: the three totals, then each dimension's table."""
        rows: list[Row] = [
            [f"Monthly cost ({self.currency})", *COLUMNS],
            ["All", *self._money(self.total)],
        ]
        if self.unpriced:
            rows.append(["Numbers no NUMBER_COSTS rule prices", self.unpriced])
        for dimension, title in (
            ("source", "Cost by source / account"),
            ("country", "Cost by country"),
            ("type", "Cost by type"),
        ):
            rows += [[], [title, *COLUMNS]]
            rows += [
                [cut(name) or "(none)", *self._money(figures)]
                for name, figures in sorted(self.by[dimension].items())
            ]
        return rows

    def _money(self, figures: _Figures) -> list[float]:
        return [round_money(amount, self.currency) for amount in figures.amounts]
