"""One cell's value: what a person types (``USER_ENTERED``) or a client sends (``RAW``), and
how ``values.get`` and grid data render it.

Typed text becomes what Sheets makes of it in the en_US locale: a leading ``'`` keeps it text;
numbers (``2,000,000.01`` gets the number format ``#,##0.00``), percentages, booleans, dates
(``2020-01-01``, ``1/2/2020``: a serial number with a DATE number format) and formulas.
Formulas of arithmetic on constants (``=1/1024``, ``=(1+2)*3%``) are evaluated; another
formula shows its own text as its value, since the sandbox is no spreadsheet engine.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncbot.sandbox.sheets.errors import invalid

CHAR_LIMIT = 50_000
Value = str | float | bool

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.(\d*))?$")
_PERCENT = re.compile(r"^[+-]?(\d+(\.(\d*))?|\.\d+)%$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# Sheets counts days from 1899-12-30 (day 0), as Lotus 1-2-3 did.
_EPOCH = dt.date(1899, 12, 30)
_DATE_TYPES = {"DATE", "TIME", "DATE_TIME"}
# The number formats the sandbox renders: thousands separators, percentages, dates.
_GROUPED_FORMAT = re.compile(r"^#,##0(?:\.(0+))?$")
_PERCENT_FORMAT = re.compile(r"^0(?:\.(0+))?%$")
_DATE_TOKENS = re.compile(r"yyyy|mm|dd|M|d")


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: a constant, or a formula with its computed ``value`` (None when the sandbox
    cannot compute it), with its format and note."""

    value: Value | None = None
    formula: str | None = None
    fmt: Mapping[str, Any] | None = None
    note: str | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not None or self.formula is not None

    def user_entered(self) -> dict[str, Any] | None:
        if self.formula is not None:
            return {"formulaValue": self.formula}
        return _extended(self.value)

    def effective(self) -> dict[str, Any] | None:
        """``effectiveValue`` of grid data: the value, or a formula's result."""
        if self.formula is not None and self.value is None:
            return {"stringValue": self.formula}
        return _extended(self.value)

    def shown(self) -> str:
        """The text a person sees in the cell."""
        if self.value is None:
            return self.formula or ""
        return format_value(self.value, self.fmt)

    def rendered(self, option: str, date_option: str = "SERIAL_NUMBER") -> Value | int | None:
        """The cell as values.get shows it for ``valueRenderOption`` and
        ``dateTimeRenderOption``."""
        if self.formula is not None and (option == "FORMULA" or self.value is None):
            return self.formula
        if self.value is None or isinstance(self.value, str):
            return self.value
        if option == "FORMATTED_VALUE" or (date_option == "FORMATTED_STRING" and is_date(self.fmt)):
            return format_value(self.value, self.fmt)
        if isinstance(self.value, float):
            return json_number(self.value)
        return self.value


def _extended(value: Value | None) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, float):
        return {"numberValue": json_number(value)}
    if isinstance(value, str):
        return {"stringValue": value}
    return None


def json_number(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def is_date(fmt: Mapping[str, Any] | None) -> bool:
    return ((fmt or {}).get("numberFormat") or {}).get("type") in _DATE_TYPES


def format_value(value: Value, fmt: Mapping[str, Any] | None = None) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    number_format = (fmt or {}).get("numberFormat") or {}
    pattern = number_format.get("pattern", "")
    if is_date(fmt) and pattern:
        return _format_date(value, pattern)
    grouped = _GROUPED_FORMAT.match(pattern)
    if grouped:
        return f"{value:,.{len(grouped.group(1) or '')}f}"
    percent = _PERCENT_FORMAT.match(pattern)
    if percent:
        return f"{value * 100:.{len(percent.group(1) or '')}f}%"
    return str(json_number(value))


def _format_date(serial: float, pattern: str) -> str:
    day = _EPOCH + dt.timedelta(days=int(serial // 1))
    parts = {
        "yyyy": f"{day.year:04d}",
        "mm": f"{day.month:02d}",
        "dd": f"{day.day:02d}",
        "M": str(day.month),
        "d": str(day.day),
    }
    return _DATE_TOKENS.sub(lambda m: parts[m.group(0)], pattern)


def check_text(text: str) -> None:
    # Counted in UTF-16 code units, the stricter reading of Google's limit (its documentation
    # says characters; an emoji is one character but two units). Counted here on its own, not
    # with the writer's helper, so that a fault there cannot hide from this check.
    if len(text) * 2 > CHAR_LIMIT and len(text.encode("utf-16-le")) // 2 > CHAR_LIMIT:
        raise invalid(
            f"Your input contains more than the maximum of {CHAR_LIMIT} characters in a single "
            "cell."
        )


def parse_raw(value: object) -> Cell | None:
    """A value stored as given (``valueInputOption=RAW``): text stays text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Cell(value=value)
    if isinstance(value, int | float):
        return Cell(value=float(value))
    if isinstance(value, str):
        check_text(value)
        return Cell(value=value)
    raise invalid(f"Invalid values: {value!r} is not a string, number or boolean")


def parse_user_entered(value: object) -> Cell | None:
    """A value as if typed by a person (``valueInputOption=USER_ENTERED``)."""
    if not isinstance(value, str) or value == "":
        return parse_raw(value)
    check_text(value)
    if value.startswith("=") and len(value) > 1:
        return Cell(evaluate(value), value)
    return _typed(value)


def _typed(value: str) -> Cell:
    text = value.strip()
    if value.startswith("'"):
        return Cell(value[1:])
    if text.upper() in {"TRUE", "FALSE"}:
        return Cell(text.upper() == "TRUE")
    serial = _date_serial(text)
    if serial is not None:
        return Cell(float(serial[0]), fmt=_number_format("DATE", serial[1]))
    return _typed_number(text) or Cell(value)


def _typed_number(text: str) -> Cell | None:
    if _NUMBER.match(text):
        return Cell(float(text))
    grouped = _GROUPED.match(text)
    if grouped:
        decimals = "." + "0" * len(grouped.group(3)) if grouped.group(3) else ""
        return Cell(float(text.replace(",", "")), fmt=_number_format("NUMBER", f"#,##0{decimals}"))
    percent = _PERCENT.match(text)
    if percent:
        decimals = "." + "0" * len(percent.group(3)) if percent.group(3) else ""
        return Cell(float(text[:-1]) / 100, fmt=_number_format("PERCENT", f"0{decimals}%"))
    return None


def _number_format(kind: str, pattern: str) -> dict[str, Any]:
    return {"numberFormat": {"type": kind, "pattern": pattern}}


def _date_serial(text: str) -> tuple[int, str] | None:
    iso, us = _ISO_DATE.match(text), _US_DATE.match(text)
    try:
        if iso:
            day = dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
            return (day - _EPOCH).days, "yyyy-mm-dd"
        if us:
            day = dt.date(int(us.group(3)), int(us.group(1)), int(us.group(2)))
            return (day - _EPOCH).days, "M/d/yyyy"
    except ValueError:
        return None  # 2020-02-31 is no date: Sheets keeps it as text
    return None


_TOKEN = re.compile(r"\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+|[-+*/^()%])")


def evaluate(formula: str) -> Value | None:
    """A formula's result when it is arithmetic on constants; None for any other formula."""
    tokens: list[str] = []
    position, text = 0, formula[1:].rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        tokens.append(match.group(1))
        position = match.end()
    try:
        result, rest = _sum(tokens)
    except ZeroDivisionError:
        return "#DIV/0!"
    except (IndexError, ValueError, OverflowError):
        return None
    return None if rest else result


def _sum(tokens: list[str]) -> tuple[float, list[str]]:
    value, tokens = _product(tokens)
    while tokens and tokens[0] in {"+", "-"}:
        right, rest = _product(tokens[1:])
        value, tokens = (value + right if tokens[0] == "+" else value - right), rest
    return value, tokens


def _product(tokens: list[str]) -> tuple[float, list[str]]:
    value, tokens = _power(tokens)
    while tokens and tokens[0] in {"*", "/"}:
        right, rest = _power(tokens[1:])
        value, tokens = (value * right if tokens[0] == "*" else value / right), rest
    return value, tokens


def _power(tokens: list[str]) -> tuple[float, list[str]]:
    # Sheets binds unary minus tighter than ^ (=-2^2 is 4) and reads 2^3^2 as (2^3)^2.
    value, tokens = _unary(tokens)
    while tokens and tokens[0] == "^":
        right, tokens = _unary(tokens[1:])
        value = float(value**right)
    return value, tokens


def _unary(tokens: list[str]) -> tuple[float, list[str]]:
    if tokens[0] in {"-", "+"}:
        value, rest = _unary(tokens[1:])
        return (-value if tokens[0] == "-" else value), rest
    if tokens[0] == "(":
        value, rest = _sum(tokens[1:])
        if not rest or rest[0] != ")":
            raise ValueError("unbalanced parentheses")
        rest = rest[1:]
    else:
        value, rest = float(tokens[0]), tokens[1:]
    while rest and rest[0] == "%":
        value, rest = value / 100, rest[1:]
    return value, rest
