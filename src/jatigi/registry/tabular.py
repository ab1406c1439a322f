"""Partner lists: any CSV/XLSX through a TOML column mapping, and HXL-tagged files.

Such lists have one row per person; the rows of a household share a household key (if there is
no key column, each row is a household of one). Household columns are read from the head's row.

A mapping file names, for each registry field, the column that holds it, and may translate
values:

    [columns]
    household_key = "N° ménage"
    given_name = "Prénom"
    population_group = "Statut"

    [values.population_group]
    "PDI" = "idp"
    "Hôte" = "host"

    [defaults]            # for columns the list lacks, stated once for every row
    consent_registration = "yes"
    enumerator = "AMSS registration team, Mopti"

    [options]
    delimiter = ";"
    sheet = "Liste"
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry import form_spec
from jatigi.registry.hxl_tags import FIELD_BY_TAG, tag_key
from jatigi.registry.problems import Problem
from jatigi.registry.sheets import Sheet, read_any
from jatigi.registry.text import name_key
from jatigi.registry.validate import RawRow, RawSubmission

MEMBER_FIELDS = frozenset(f.name for f in form_spec.MEMBERS.fields) | {"age"}
HOUSEHOLD_FIELDS = frozenset(f.name for g in form_spec.MAIN_GROUPS for f in g.fields) | {"today"}
KNOWN_FIELDS = MEMBER_FIELDS | HOUSEHOLD_FIELDS | {"household_key"}


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # field -> header
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    sheet: str | None = None


def load_mapping(path: Path) -> Mapping:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationFailed(_("{file}: not a readable TOML mapping ({error}).", file=path.name,
                                 error=str(exc))) from None
    columns = data.get("columns", {})
    defaults = {k: str(v) for k, v in data.get("defaults", {}).items()}
    unknown = sorted((set(columns) | set(defaults)) - KNOWN_FIELDS)
    if unknown:
        raise ValidationFailed(_("{file}: unknown registry fields {fields}; accepted: {accepted}.",
                                 file=path.name, fields=", ".join(unknown),
                                 accepted=", ".join(sorted(KNOWN_FIELDS))))
    values = {k: {str(a): str(b) for a, b in v.items()} for k, v in data.get("values", {}).items()}
    opts = data.get("options", {})
    return Mapping({k: str(v) for k, v in columns.items()}, values, defaults, opts.get("delimiter"),
                   opts.get("sheet"))


def identity_mapping(headers: list[str]) -> Mapping:
    """Without a mapping file, columns named after registry fields are taken as they are."""
    return Mapping({h: h for h in headers if h in KNOWN_FIELDS})


def read_table(path: Path, mapping: Mapping | None) -> tuple[Sheet, Mapping]:
    sheets = read_any(path, mapping.delimiter if mapping else None)
    if mapping and mapping.sheet:
        chosen = [s for s in sheets if s.name == mapping.sheet]
        if not chosen:
            raise ValidationFailed(_("{file}: no sheet {sheet}; found: {found}.", file=path.name,
                                     sheet=mapping.sheet, found=", ".join(s.name for s in sheets)))
        sheet = chosen[0]
    else:
        sheet = sheets[0]
    return sheet, mapping or identity_mapping(sheet.headers)


def read_hxl(path: Path) -> tuple[Sheet, Mapping]:
    """Find the hashtag row under the headers and map hashtags to registry fields."""
    import hxl

    try:
        source = hxl.data(str(path), hxl.InputOptions(allow_local=True))
        columns = source.columns
        rows = list(source)
    except Exception as exc:  # libhxl raises several kinds for unreadable input
        raise ValidationFailed(_("{file}: no HXL hashtag row found ({error}).", file=path.name,
                                 error=str(exc)[:200])) from None
    headers: list[str] = []
    mapping = Mapping()
    for col in columns:
        tag = col.get_display_tag(sort_attributes=True) or ""
        shown = f"{col.header} {tag}".strip() if col.header else tag
        headers.append(shown)
        fname = FIELD_BY_TAG.get(tag_key(tag)) if tag else None
        if fname and fname not in mapping.columns:
            mapping.columns[fname] = shown
    if not mapping.columns:
        raise ValidationFailed(_("{file}: none of its hashtags is a registry column.", file=path.name))

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        # Row 1 holds the headers, row 2 the hashtags.
        for n, row in enumerate(rows, start=3):
            yield n, list(row.values)

    return Sheet(path.stem, headers, numbered(), len(rows)), mapping


def source_key(list_name: str, household_key: str) -> str:
    """A partner's household key is unique only within its list: `M-001` of the Mopti list is
    not `M-001` of the Ségou list. Keys are kept per list (by file name), so re-importing a list
    skips what it already brought, and another list's keys do not collide with it."""
    digest = hashlib.sha256(list_name.encode("utf-8")).hexdigest()[:8]
    return f"{digest}:{household_key}"


def submissions(sheet: Sheet, mapping: Mapping, problems: list[Problem],
                list_name: str = "") -> Iterator[RawSubmission]:
    index = {h: i for i, h in enumerate(sheet.headers)}
    missing = [h for h in mapping.columns.values() if h not in index]
    if missing:
        raise ValidationFailed(_("{file}: columns named in the mapping are missing: {columns}.",
                                 file=sheet.name, columns=", ".join(missing)))
    for required in ("given_name", "family_name", "sex", "population_group", "current_pcode"):
        if required not in mapping.columns and required not in mapping.defaults:
            problems.append(Problem(sheet.name, 1, required, "", _("Required column missing.")))
    if problems:
        return
    cols = [(index[h], f) for f, h in mapping.columns.items()]
    headers = {f: h for f, h in mapping.columns.items()}
    translate = {f: {name_key(k): v for k, v in m.items()} for f, m in mapping.values.items()}
    groups: dict[str, list[RawRow]] = {}
    order: list[str] = []
    for n, cells in sheet.rows:
        values: dict[str, object] = {}
        for i, f in cols:
            v = cells[i] if i < len(cells) else None
            if f in translate and v not in (None, ""):
                v = translate[f].get(name_key(str(v)), v)
            values[f] = v
        for f, v in mapping.defaults.items():
            if values.get(f) in (None, ""):
                values[f] = v
        key = str(values.get("household_key") or "").strip() or f"row-{n}"
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(RawRow(sheet.name, n, values, headers))
    for key in order:
        rows = groups.pop(key)
        if len(rows) == 1 and "relationship" not in mapping.columns:
            rows[0].values["relationship"] = "head"
        head = next((r for r in rows if str(r.values.get("relationship") or "").strip().lower() == "head"), rows[0])
        main_values = {f: v for f, v in head.values.items() if f in HOUSEHOLD_FIELDS}
        if "household_key" in mapping.columns:
            main_values[form_spec.META_UUID] = source_key(list_name or sheet.name, key)
            head.columns = {**head.columns, form_spec.META_UUID: mapping.columns["household_key"]}
        main = RawRow(head.sheet, head.row, main_values, head.columns)
        members = [RawRow(r.sheet, r.row, {f: v for f, v in r.values.items() if f in MEMBER_FIELDS}, r.columns)
                   for r in rows]
        yield RawSubmission(main, {"members": members})
