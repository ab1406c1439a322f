"""Problems found in imported data, reported by row, column and value, in the user's language."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jatigi.core.i18n import _
from jatigi.core.spreadsheet import safe_cell


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    column: str
    value: str
    message: str

    def line(self) -> str:
        return _("{sheet}, row {row}, column {column}: {message} (value: {value})",
                 sheet=self.sheet, row=self.row, column=self.column or "—", message=self.message,
                 value=_shown(self.value))


def _shown(value: object) -> str:
    text = "" if value is None else str(value)
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


def write_report(problems: Iterable[Problem], path: Path) -> int:
    """Write problems as CSV with translated headers; returns how many rows."""
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([_("Sheet"), _("Row"), _("Column"), _("Value"), _("Problem")])
        for p in problems:
            w.writerow([safe_cell(p.sheet), p.row, safe_cell(p.column), safe_cell(p.value), p.message])
            n += 1
    return n
