"""Reading tables from CSV and XLSX files as streams of rows, with spreadsheet row numbers."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _

csv.field_size_limit(min(sys.maxsize, 1 << 20))
MAX_COLUMNS = 2000


@dataclass
class Sheet:
    """A table: its name (sheet or file), its header row and its data rows as (row number, cells)."""

    name: str
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    size_hint: int = 0  # bytes or rows, for progress and for choosing how to join


def sniff_delimiter(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _open_text(path: Path) -> io.TextIOWrapper:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    try:
        head.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # Allow a multi-byte character cut at the end of the sample.
        encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "cp1252"
    return open(path, encoding=encoding, newline="")  # noqa: SIM115 - closed by the reader


def read_csv(path: Path, delimiter: str | None = None) -> Sheet:
    fh = _open_text(path)
    try:
        sample = fh.read(1 << 16)
    except UnicodeDecodeError:
        fh.close()
        raise ValidationFailed(_("{file}: not a text file in UTF-8; save it as CSV UTF-8.", file=path.name)) from None
    fh.seek(0)
    delim = delimiter or sniff_delimiter(sample)
    reader = csv.reader(fh, delimiter=delim)
    try:
        headers = next(reader)
    except StopIteration:
        fh.close()
        raise ValidationFailed(_("{file} is empty.", file=path.name)) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        fh.close()
        raise ValidationFailed(_("{file}: cannot read it as CSV ({error}).", file=path.name, error=str(exc))) from None
    _check_headers(path.name, headers)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        n = 1
        try:
            for cells in reader:
                n += 1
                if cells:
                    yield n, cells
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                _("{file}, row {row}: cannot read it as CSV ({error}).", file=path.name, row=n + 1,
                  error=str(exc))
            ) from None
        finally:
            fh.close()

    return Sheet(path.stem, [h.strip() for h in headers], rows(), path.stat().st_size)


def read_xlsx(path: Path) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for broken files
        raise ValidationFailed(_("{file}: not a readable XLSX workbook ({error}).", file=path.name,
                                 error=str(exc)[:200])) from None
    sheets = []
    for name in wb.sheet_names:
        sheet = wb.get_sheet_by_name(name)
        it = iter(sheet.iter_rows())
        header = next(it, None)
        if not header or not any(str(h).strip() for h in header):
            continue
        headers = [_cell_text(h) for h in header]
        _check_headers(f"{path.name}:{name}", headers)
        sheets.append(Sheet(name, headers, _numbered(it), sheet.height))
    return sheets


def _numbered(it: Iterator[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    n = 1
    for cells in it:
        n += 1
        if any(c not in ("", None) for c in cells):
            yield n, [None if c == "" else c for c in cells]


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def _check_headers(name: str, headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise ValidationFailed(_("{file}: {n} columns; at most {max} are accepted.", file=name,
                                 n=len(headers), max=MAX_COLUMNS))


def read_any(path: Path, delimiter: str | None = None) -> list[Sheet]:
    if not path.exists():
        raise ValidationFailed(_("No file {file}.", file=str(path)))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        return read_xlsx(path)
    if suffix in (".csv", ".txt", ".tsv", ""):
        return [read_csv(path, delimiter)]
    raise ValidationFailed(_("{file}: unknown file type; accepted: .csv, .xlsx.", file=path.name))
