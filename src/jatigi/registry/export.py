"""Exporting the registry, minimised: one row per household, no names, phones or addresses.

One SQL query — households joined to per-household aggregates over their people — streamed
to the file, so that 200,000 households take seconds, not an ORM object each. Admin levels
come from one read of the admin-unit tree. Formats: CSV, XLSX (openpyxl write-only) and HXL
(CSV with a hashtag row under the headers, in core HXL hashtags). Text cells that a
spreadsheet would run as a formula are escaped. Each export leaves one audit event.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.core.spreadsheet import safe_cell
from jatigi.places.models import AdminUnit
from jatigi.registry import vocab
from jatigi.registry.models import Household, Person
from jatigi.registry.service import visibility

FORMATS = ("csv", "xlsx", "hxl")
STREAM_ROWS = 5000


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # English msgid, translated when written
    hashtag: str


COLUMNS: tuple[Column, ...] = (
    Column("code", N_("Household code"), "#meta+id"),
    Column("organisation", N_("Organisation"), "#org+code"),
    Column("population_group", N_("Population group"), "#group+code"),
    Column("admin1_pcode", N_("Region P-code"), "#adm1+code"),
    Column("admin1_name", N_("Region"), "#adm1+name"),
    Column("admin2_pcode", N_("Cercle P-code"), "#adm2+code"),
    Column("admin2_name", N_("Cercle"), "#adm2+name"),
    Column("admin3_pcode", N_("Commune P-code"), "#adm3+code"),
    Column("admin3_name", N_("Commune"), "#adm3+name"),
    Column("current_pcode", N_("Current place P-code"), "#loc+code"),
    Column("origin_pcode", N_("Place of origin P-code"), "#loc+code+origin"),
    Column("living_arrangement", N_("Living arrangement"), "#indicator+shelter+code"),
    Column("households_in_dwelling", N_("Households in the dwelling"), "#indicator+households+num"),
    Column("monthly_rent_xof", N_("Monthly rent (FCFA)"), "#value+rent+xof"),
    Column("rent_arrears_xof", N_("Rent arrears (FCFA)"), "#value+arrears+xof"),
    Column("intention", N_("Intention"), "#indicator+intention+code"),
    Column("members", N_("Members"), "#affected+ind"),
    Column("females", N_("Females"), "#affected+f"),
    Column("males", N_("Males"), "#affected+m"),
    Column("children", N_("Children under 18"), "#affected+children"),
    Column("disabled", N_("People with a disability"), "#affected+disabled"),
    Column("head_sex", N_("Sex of the head of household"), "#beneficiary+head+sex"),
    Column("registered_on", N_("Registration date"), "#date+registered"),
)

def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _admin_levels(session: Session) -> dict[str, tuple[str | None, ...]]:
    """For every P-code: (admin1 code, name, admin2 code, name, admin3 code, name)."""
    tree = {pc: (name, level, parent) for pc, name, level, parent in session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.name, AdminUnit.level, AdminUnit.parent_pcode))}
    out: dict[str, tuple[str | None, ...]] = {}
    for pcode in tree:
        found: dict[int, tuple[str, str]] = {}
        cur: str | None = pcode
        for _step in range(10):
            if cur is None or cur not in tree:
                break
            name, level, parent = tree[cur]
            found[level] = (cur, name)
            cur = parent
        out[pcode] = tuple(x for lvl in (1, 2, 3) for x in found.get(lvl, (None, None)))
    return out


def _query(actor: Actor, today: date) -> Any:
    P = Person
    disabled = sa.or_(*(col >= vocab.WG_DISABILITY_THRESHOLD for col in (
        P.wg_seeing, P.wg_hearing, P.wg_walking, P.wg_cognition, P.wg_selfcare, P.wg_communication)))
    one_if = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    people = (
        sa.select(
            P.household_id.label("household_id"),
            one_if(P.sex == "f").label("females"),
            one_if(P.sex == "m").label("males"),
            one_if(P.birth_date > _years_before(today, vocab.ADULT_AGE)).label("children"),
            one_if(disabled).label("disabled"),
        )
        .where(P.deleted_at.is_(None))
        .group_by(P.household_id)
        .subquery("agg")
    )
    H = Household
    return (
        sa.select(
            H.code, Organisation.acronym, H.population_group, H.current_pcode, H.origin_pcode,
            H.living_arrangement, H.households_in_dwelling, H.monthly_rent_xof, H.rent_arrears_xof,
            H.intention, H.member_count, people.c.females, people.c.males, people.c.children,
            people.c.disabled, H.head_sex, H.registered_on,
        )
        .join(Organisation, Organisation.id == H.org_id)
        .outerjoin(people, people.c.household_id == H.id)
        .where(*visibility(actor))
        .order_by(H.id)
    )


def rows(*, session: Session, actor: Actor, today: date | None = None) -> Iterator[list[Any]]:
    """The export's rows, in the order of COLUMNS, streamed from the database."""
    levels = _admin_levels(session)
    empty: tuple[str | None, ...] = (None,) * 6
    result = session.execute(_query(actor, today or date.today()).execution_options(yield_per=STREAM_ROWS))
    for r in result:
        a1, a1n, a2, a2n, a3, a3n = levels.get(r.current_pcode, empty)
        yield [r.code, r.acronym, r.population_group, a1, a1n, a2, a2n, a3, a3n, r.current_pcode,
               r.origin_pcode, r.living_arrangement, r.households_in_dwelling, r.monthly_rent_xof,
               r.rent_arrears_xof, r.intention, r.member_count, int(r.females or 0), int(r.males or 0),
               int(r.children or 0), int(r.disabled or 0), r.head_sex, r.registered_on]


def _write_csv(path: Path, data: Iterator[list[Any]], hashtags: bool) -> int:
    n = 0
    # Excel needs the BOM to read UTF-8; HXL tools read plain UTF-8.
    with path.open("w", encoding="utf-8" if hashtags else "utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([_(c.header) for c in COLUMNS])
        if hashtags:
            w.writerow([c.hashtag for c in COLUMNS])
        for row in data:
            w.writerow([safe_cell(v) for v in row])
            n += 1
    return n


def _write_xlsx(path: Path, data: Iterator[list[Any]]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Households"))
    bold = Font(bold=True)
    header = []
    for c in COLUMNS:
        cell = WriteOnlyCell(ws, value=_(c.header))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    n = 0
    for row in data:
        ws.append([safe_cell(v) for v in row])
        n += 1
    wb.save(path)
    return n


def export_households(*, session: Session, actor: Actor, fmt: str, out: Path,
                      today: date | None = None) -> int:
    """Write the households the actor may see to `out`; returns how many rows were written."""
    actor.require(Permission.REGISTRY_EXPORT_RUN)
    if fmt not in FORMATS:
        raise ValidationFailed(_("Unknown format {format}; accepted: {accepted}.", format=fmt,
                                 accepted=", ".join(FORMATS)))
    out = Path(out)
    if out.parent and not out.parent.is_dir():
        raise ValidationFailed(_("No folder {folder} to write the export into.", folder=str(out.parent)))
    # Write beside the target and rename at the end: a failed export leaves no half file.
    part = out.with_name(out.name + ".part")
    data = rows(session=session, actor=actor, today=today)
    try:
        n = _write_xlsx(part, data) if fmt == "xlsx" else _write_csv(part, data, hashtags=fmt == "hxl")
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    audit.record(session, actor, "registry.export", "registry", None,
                 {"format": fmt, "rows": n, "file": out.name})
    return n
