"""Households written as a KoboToolbox export of the registration form, to exercise importers.

The layout is Kobo's: a main table (`registration`) with one row per submission and one table
per repeat group, joined on `_index` / `_parent_index`; columns headed by group path
(`household/population_group`) or by label; select_multiple answers as a space-separated value
plus one 0/1 column per choice. Rows are written as they are generated, so a million people
take constant memory.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, use_language
from jatigi.registry import form_spec, vocab
from jatigi.registry.form_spec import Field
from jatigi.registry.records import HouseholdRecord, PersonRecord

MAIN_TABLE = "registration"
REPEAT_TABLES = ("members", "separated_relatives", "movements")
MAIN_META_HEAD = ("start", "end", "today")
MAIN_META_TAIL = ("_id", "_uuid", "_submission_time", "_validation_status", "__version__", "_index")
REPEAT_META = ("_index", "_parent_table_name", "_parent_index", "_submission__id",
               "_submission__uuid")
FORMATS = ("csv", "xlsx")
LABELS = ("xml", "fr", "en")
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, minus the header row
FIRST_ID = 41_270_000  # Kobo submission ids are large integers
VALIDATION = ("validation_status_approved",) * 6 + ("validation_status_on_hold", "")

# Form field → attribute of the record, where the names differ.
RECORD_ATTR = {
    "member_phone": "phone",
    "relative_name": "name", "relative_relationship": "relationship", "relative_sex": "sex",
    "relative_age": "age", "relative_last_pcode": "last_known_pcode",
    "relative_whereabouts": "whereabouts", "relative_separated_on": "separated_on",
    "movement_kind": "kind", "movement_date": "moved_on", "movement_from": "from_pcode",
    "movement_to": "to_pcode",
}


@dataclass
class ExportResult:
    households: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


class _RowSink(Protocol):
    def append(self, row: list[Any]) -> None: ...


class _Column:
    """One form field: its header(s), choice labels and the position of each 0/1 column."""

    __slots__ = ("field", "attr", "labels", "flags", "kind")

    def __init__(self, f: Field, lang: str | None) -> None:
        self.field = f
        self.attr = RECORD_ATTR.get(f.name, f.name)
        self.kind = f.type
        options = form_spec.CHOICE_LISTS.get(f.choices or "", {})
        if lang is None:
            self.labels = {code: code for code in options}
        else:
            with use_language(lang):
                self.labels = {code: _(label) for code, label in options.items()}
        # Position of each choice among the 0/1 columns.
        self.flags = {code: i for i, code in enumerate(options)} if f.type == "select_multiple" else {}

    def headers(self, prefix: str, lang: str | None) -> list[str]:
        f = self.field
        if lang is None:
            base = f"{prefix}/{f.name}"
            return [base, *(f"{base}/{code}" for code in self.flags)]
        with use_language(lang):
            label = _(f.label)
        return [label, *(f"{label}/{self.labels[code]}" for code in self.flags)]


_KINDS = {"select_one": 1, "date": 2, "select_multiple": 3}


class _Table:
    def __init__(self, name: str, fields: Iterable[tuple[str, Field]], lang: str | None,
                 meta_head: tuple[str, ...], meta_tail: tuple[str, ...]) -> None:
        self.name = name
        self.columns = [(prefix, _Column(f, lang)) for prefix, f in fields]
        self.headers = [*meta_head]
        for prefix, col in self.columns:
            self.headers.extend(col.headers(prefix, lang))
        self.headers.extend(meta_tail)
        self.count = 0
        # (name, kind, labels, flag positions, empty flags): `_Column.cells` unrolled, because
        # this runs for every cell of a million-row export.
        self.plan = [(col.field.name, _KINDS.get(col.kind, 0), col.labels, col.flags,
                      [""] * len(col.flags)) for _prefix, col in self.columns]

    def row(self, values: dict[str, Any], head: list[Any], tail: list[Any]) -> list[Any]:
        out = list(head)
        append, extend, get = out.append, out.extend, values.get
        for name, kind, labels, flags, blank in self.plan:
            value = get(name)
            if value is None or value == "" or value == []:
                append("")
                if kind == 3:
                    extend(blank)
            elif kind == 0:
                append(str(value))
            elif kind == 1:
                append(labels[str(value)])
            elif kind == 2:
                append(value.isoformat())
            else:
                append(" ".join([labels[v] for v in value]))
                picked = ["0"] * len(flags)
                for v in value:
                    picked[flags[v]] = "1"
                extend(picked)
        extend(tail)
        return out


def tables(lang: str | None) -> dict[str, _Table]:
    main_fields = [(g.name, f) for g in form_spec.MAIN_GROUPS for f in g.fields]
    out = {MAIN_TABLE: _Table(MAIN_TABLE, main_fields, lang, MAIN_META_HEAD, MAIN_META_TAIL)}
    for name in REPEAT_TABLES:
        group = form_spec.REPEATS[name]
        out[name] = _Table(name, [(name, f) for f in group.fields], lang, (), REPEAT_META)
    return out


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def household_values(hh: HouseholdRecord) -> dict[str, Any]:
    values: dict[str, Any] = {f.name: getattr(hh, f.name, None)
                              for f in form_spec.HOUSEHOLD.fields}
    given = {c.purpose: c.given for c in hh.consents}
    for name, purpose in form_spec.CONSENT_PURPOSE_OF.items():
        if purpose in given:
            values[name] = "yes" if given[purpose] else "no"
    values["enumerator"] = hh.enumerator
    return values


def member_values(p: PersonRecord, registered_on: date) -> dict[str, Any]:
    values: dict[str, Any] = {
        "given_name": p.given_name, "family_name": p.family_name, "sex": p.sex,
        "relationship": p.relationship, "school_attendance": p.school_attendance,
        "specific_needs": p.specific_needs, "documents": p.documents, "member_phone": p.phone,
    }
    if p.birth_date is not None:
        values["age"] = _age_on(p.birth_date, registered_on)
        if not p.age_estimated:
            values["birth_date"] = p.birth_date
    for domain in vocab.WG_DOMAINS:
        values[f"wg_{domain}"] = p.wg.get(domain)
    return values


def _object_values(obj: Any, table: _Table) -> dict[str, Any]:
    return {col.field.name: getattr(obj, col.attr, None) for _prefix, col in table.columns}


def _times(hh: HouseholdRecord, index: int) -> tuple[str, str, str]:
    """Start, end and submission time of the interview, derived from the submission UUID."""
    bits = uuid.UUID(hh.source_uuid).int if hh.source_uuid else index * 2_654_435_761
    start = datetime.combine(hh.registered_on, datetime.min.time()) + timedelta(
        minutes=8 * 60 + bits % 540, seconds=(bits >> 10) % 60)
    end = start + timedelta(minutes=12 + (bits >> 20) % 40, seconds=(bits >> 30) % 60)
    sent = end + timedelta(minutes=30 + (bits >> 40) % (3 * 24 * 60))
    return (start.isoformat(timespec="milliseconds") + "+00:00",
            end.isoformat(timespec="milliseconds") + "+00:00",
            sent.isoformat(timespec="seconds"))


def export_households(records: Iterable[HouseholdRecord], out_dir: Path | str, *,
                      fmt: str = "csv", labels: str = "xml", delimiter: str = ";",
                      on_progress: Callable[[int], None] | None = None) -> ExportResult:
    """Write `records` as a Kobo export into `out_dir`; returns the files and row counts.

    csv: registration.csv, members.csv, separated_relatives.csv, movements.csv;
    xlsx: registration.xlsx with one sheet per table.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(_("Unknown format {value}; accepted: {accepted}.", value=fmt,
                                 accepted=", ".join(FORMATS)))
    if labels not in LABELS:
        raise ValidationFailed(_("Unknown kind of labels {value}; accepted: {accepted}.",
                                 value=labels, accepted=", ".join(LABELS)))
    if fmt == "csv" and len(delimiter) != 1:
        raise ValidationFailed(_("The delimiter must be one character, such as ; or ,."))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tabs = tables(None if labels == "xml" else labels)
    result = ExportResult()
    with ExitStack() as stack:
        sinks: dict[str, _RowSink]
        if fmt == "csv":
            sinks = {}
            for name, table in tabs.items():
                path = out / f"{name}.csv"
                fh = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
                writer = csv.writer(fh, delimiter=delimiter)
                writer.writerow(table.headers)
                sinks[name] = _CsvSink(writer)
                result.files.append(path)
            _write_rows(records, tabs, sinks, result, on_progress)
        else:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            sinks = {}
            for name, table in tabs.items():
                ws = wb.create_sheet(name)
                ws.append(table.headers)
                sinks[name] = _XlsxSink(ws, name)
            _write_rows(records, tabs, sinks, result, on_progress)
            path = out / f"{MAIN_TABLE}.xlsx"
            wb.save(path)
            result.files.append(path)
    result.rows = {name: t.count for name, t in tabs.items()}
    return result


class _CsvSink:
    __slots__ = ("append",)

    def __init__(self, writer: Any) -> None:
        self.append = writer.writerow


class _XlsxSink:
    def __init__(self, ws: Any, name: str) -> None:
        self.ws = ws
        self.name = name
        self.rows = 0

    def append(self, row: list[Any]) -> None:
        self.rows += 1
        if self.rows > XLSX_MAX_ROWS:
            raise ValidationFailed(_(
                "The sheet {sheet} would pass Excel's limit of {limit} rows; export as CSV "
                "instead, or fewer households.", sheet=self.name, limit=XLSX_MAX_ROWS))
        self.ws.append(row)


def _write_rows(records: Iterable[HouseholdRecord], tabs: dict[str, _Table],
                sinks: dict[str, _RowSink], result: ExportResult,
                on_progress: Callable[[int], None] | None) -> None:
    main = tabs[MAIN_TABLE]
    members, relatives, movements = (tabs[n] for n in REPEAT_TABLES)
    add_main, add_member = sinks[MAIN_TABLE].append, sinks["members"].append
    add_relative, add_movement = sinks["separated_relatives"].append, sinks["movements"].append
    version = form_spec.FORM_VERSION
    pending = 0
    for hh in records:
        main.count += 1
        index = main.count
        sub_id = str(FIRST_ID + index)
        sub_uuid = hh.source_uuid or ""
        start, end, sent = _times(hh, index)
        add_main(main.row(
            household_values(hh), [start, end, hh.registered_on.isoformat()],
            [sub_id, sub_uuid, sent, VALIDATION[index % len(VALIDATION)], version, index]))
        parent = [MAIN_TABLE, index, sub_id, sub_uuid]
        for p in hh.members:
            members.count += 1
            add_member(members.row(member_values(p, hh.registered_on), [], [members.count, *parent]))
        for r in hh.relatives:
            relatives.count += 1
            add_relative(relatives.row(_object_values(r, relatives), [],
                                       [relatives.count, *parent]))
        for mv in hh.movements:
            movements.count += 1
            add_movement(movements.row(_object_values(mv, movements), [],
                                       [movements.count, *parent]))
        pending += 1
        if on_progress and pending == 1000:
            on_progress(pending)
            pending = 0
    result.households = main.count
    if on_progress and pending:
        on_progress(pending)
