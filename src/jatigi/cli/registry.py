"""`jatigi registry`: summary, search, show, delete, history and purge of households."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.i18n import _, number
from jatigi.registry import history as history_mod
from jatigi.registry import service, vocab

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
HOUSEHOLD_CODE = typer.Argument(..., help=_("Code of the household."))


def _label(codes: dict[str, str], code: str | None) -> str:
    if not code:
        return ""
    return _(codes[code]) if code in codes else code


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@app.command("summary",
             help=_("Households and people by region and population group, within what you may see."))
@friendly_errors
def summary(as_json: bool = typer.Option(False, "--json", help=_("Print a JSON document.")),
            as_user: str = AS_USER) -> None:
    """Households and people by region and population group, within what you may see."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        rows = service.summary(session=session, actor=actor)
    total = {"households": sum(r.households for r in rows), "people": sum(r.people for r in rows),
             "female_headed": sum(r.female_headed for r in rows)}
    if as_json:
        doc = {"rows": [r.__dict__ for r in rows], "total": total}
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    table = Table(_("Region"), _("Population group"), _("Households"), _("People"),
                  _("Female-headed"), title=_("Registry summary"))
    for r in rows:
        region = f"{r.admin1_pcode} {r.admin1_name or ''}".strip() if r.admin1_pcode else _("Unknown")
        table.add_row(region, _label(vocab.POPULATION_GROUPS, r.population_group), number(r.households),
                      number(r.people), number(r.female_headed))
    table.add_section()
    table.add_row(_("Total"), "", number(total['households']), number(total['people']),
                  number(total['female_headed']), style="bold")
    console.print(table)


@app.command("search", help=_("Find households by a member's name, a phone number or a place."))
@friendly_errors
def search(name: str = typer.Option(None, "--name", help=_("Name of any member (beginnings of names).")),
           phone: str = typer.Option(None, "--phone", help=_("Phone number, exactly.")),
           pcode: str = typer.Option(None, "--pcode", help=_("P-code of the current place, or its beginning.")),
           limit: int = typer.Option(service.SEARCH_LIMIT, "--limit", help=_("At most this many households.")),
           as_user: str = AS_USER) -> None:
    """Find households by a member's name, a phone number or a place."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        result = service.search(session=session, actor=actor, q=name, phone=phone, pcode=pcode, limit=limit)
    table = Table(_("Household"), _("Population group"), _("Place"), _("Head of household"), _("Members"))
    for h in result.hits:
        table.add_row(h.code, _label(vocab.POPULATION_GROUPS, h.population_group),
                      f"{h.current_pcode} {h.current_name or ''}".strip(), h.head_name or "—", str(h.member_count))
    console.print(table)
    console.print(_("{shown} of {total} households shown.", shown=len(result.hits), total=result.total))


@app.command("show",
             help=_("Show a household with its members, separated relatives, movements and consents."))
@friendly_errors
def show(code: str = HOUSEHOLD_CODE, as_user: str = AS_USER) -> None:
    """Show a household with its members, separated relatives, movements and consents."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        d = service.get_household(session=session, actor=actor, code=code)
    hh = d.household
    facts = Table(show_header=False, title=_("Household {code}", code=hh.code), title_justify="left")
    facts.add_column(style="bold")
    facts.add_column()
    for label, value in (
        (_("Population group"), _label(vocab.POPULATION_GROUPS, hh.population_group)),
        (_("Current place"), hh.current_pcode),
        (_("Address"), hh.address),
        (_("Place of origin"), hh.origin_pcode),
        (_("Date of displacement"), hh.displacement_date),
        (_("Date of arrival"), hh.arrival_date),
        (_("Living arrangement"), _label(vocab.LIVING_ARRANGEMENTS, hh.living_arrangement)),
        (_("Households in the dwelling"), hh.households_in_dwelling),
        (_("Monthly rent (FCFA)"), hh.monthly_rent_xof),
        (_("Rent arrears (FCFA)"), hh.rent_arrears_xof),
        (_("Intention"), _label(vocab.INTENTIONS, hh.intention)),
        (_("Priority needs"), [_label(vocab.NEEDS, n) for n in hh.priority_needs or []]),
        (_("Phone"), d.phone),
        (_("Registered on"), hh.registered_on),
        (_("Version"), hh.version),
    ):
        facts.add_row(label, _shown(value))
    console.print(facts)

    members = Table("#", _("Name"), _("Sex"), _("Born"), _("Relationship"), _("Specific needs"),
                    title=_("Members"), title_justify="left")
    for p in d.members:
        born = p.birth_date.isoformat() + (" ~" if p.age_estimated else "") if p.birth_date else "—"
        members.add_row(str(p.line_no), f"{p.given_name} {p.family_name}", _label(vocab.SEXES, p.sex), born,
                        _label(vocab.RELATIONSHIPS, p.relationship), _shown(p.specific_needs))
    console.print(members)
    if d.relatives:
        rel = Table(_("Name"), _("Relationship"), _("Last known place"), _("Whereabouts"),
                    title=_("Separated relatives"), title_justify="left")
        for r in d.relatives:
            rel.add_row(r.name, _label(vocab.RELATIONSHIPS, r.relationship), _shown(r.last_known_pcode),
                        _shown(d.whereabouts.get(r.id)))
        console.print(rel)
    if d.movements:
        mv = Table(_("Movement"), _("Date"), _("From"), _("To"), title=_("Movements"), title_justify="left")
        for m in d.movements:
            mv.add_row(_label(vocab.MOVEMENT_KINDS, m.kind), _shown(m.moved_on), _shown(m.from_pcode),
                       _shown(m.to_pcode))
        console.print(mv)
    cons = Table(_("Purpose"), _("Given"), _("Recorded on"), _("Taken by"), title=_("Consents"),
                 title_justify="left")
    for c in d.consents:
        cons.add_row(_label(vocab.CONSENT_PURPOSES, c.purpose), _("Yes") if c.given else _("No"),
                     c.recorded_on.isoformat(), c.taken_by)
    console.print(cons)


@app.command("delete",
             help=_("Delete a household: hidden at once, erased by `purge` after the retention period."))
@friendly_errors
def delete(code: str = HOUSEHOLD_CODE,
           reason: str = typer.Option(..., "--reason", help=_("Why the household is deleted.")),
           as_user: str = AS_USER) -> None:
    """Delete a household: hidden at once, erased by `purge` after the retention period."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        hh = service.delete_household(session=session, actor=actor, code=code, reason=reason)
        code, purge_after = hh.code, hh.purge_after
    console.print(_("Household {code} deleted; it will be erased after {date}.", code=code,
                    date=purge_after.isoformat() if purge_after else "—"))


@app.command("history", help=_("Show the changes made to a household: when, by whom, from what to what."))
@friendly_errors
def history(code: str = HOUSEHOLD_CODE, as_user: str = AS_USER) -> None:
    """Show the changes made to a household: when, by whom, from what to what."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        entries = history_mod.household_history(session=session, actor=actor, code=code)
    if not entries:
        console.print(_("No change since registration."))
        return
    table = Table(_("Version"), _("When"), _("Who"), _("Field"), _("Before"), _("After"))
    for e in entries:
        first = True
        for c in e.changes or [history_mod.Change("—", None, None)]:
            table.add_row(str(e.version) if first else "", e.changed_at.isoformat(timespec="seconds") if first else "",
                          (e.changed_by or "—") if first else "", c.field, _shown(c.before), _shown(c.after))
            first = False
    console.print(table)


@app.command("purge",
             help=_("Erase deleted households whose retention period has passed, with their people."))
@friendly_errors
def purge(as_user: str = AS_USER) -> None:
    """Erase deleted households whose retention period has passed, with their people."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        n = service.purge_expired(session=session, actor=actor)
    console.print(_("{n} deleted households erased.", n=n))
