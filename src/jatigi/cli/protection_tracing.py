"""`jatigi protection tracing list|new|show|match|confirm|reject|close`: family tracing.

The same rules as the pages: need to know (a request one may not see is "not found"), consent to
tracing before any search, and every read and write audited. Names are printed only by `show`.
"""

from __future__ import annotations

import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.i18n import _, day, number
from jatigi.protection import tracing, vocab

tracing_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
CODE = typer.Argument(..., help=_("The request's code, e.g. TR-7KQ2M9XA."))
MATCH = typer.Argument(..., min=1, max=2**62, help=_("The number of the match (from show)."))


def _label(codes: dict[str, str], code: str | None) -> str:
    return _(codes[code]) if code in codes else (code or "—")


@tracing_app.command("list", help=_("The tracing requests you need to know, newest first."))
@friendly_errors
def list_requests(state: str = typer.Option("", "--state", help=_("Only this state: {codes}.",
                                                                   codes=", ".join(vocab.TRACING_STATES))),
                  as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        total, rows = tracing.list_requests(session, actor, state=state, limit=500)
    table = Table(_("Request"), _("State"), _("Relationship"), _("Separated on"), _("Last-seen area"), _("Case"),
                  _("Matches to check"))
    for r in rows:
        table.add_row(r.code, _label(vocab.TRACING_STATES, r.state), _label(vocab.TRACING_RELATIONSHIPS,
                                                                            r.relationship),
                      day(r.separated_on) if r.separated_on else "—", r.last_seen_pcode or "—", r.case_code or "—",
                      number(r.proposed))
    console.print(table)
    console.print(_("{n} requests.", n=number(total)))


@tracing_app.command("new", help=_("Record a tracing request; with consent to tracing, search at once."))
@friendly_errors
def new(
    given_name: str = typer.Option(..., "--given-name", help=_("Given name of the person sought.")),
    family_name: str = typer.Option("", "--family-name", help=_("Family name of the person sought.")),
    sex: str = typer.Option("", "--sex", help=_("f, m or unknown.")),
    birth_year: str = typer.Option("", "--birth-year", help=_("Birth year of the person sought.")),
    age: str = typer.Option("", "--age", help=_("Age, when the birth year is not known.")),
    relationship: str = typer.Option(..., "--relationship", help=_("Of the person sought to the inquirer: {codes}.",
                                                                   codes=", ".join(vocab.TRACING_RELATIONSHIPS))),
    separated_on: str = typer.Option("", "--separated-on", help=_("Date of separation (YYYY-MM-DD or DD/MM/YYYY).")),
    last_seen_pcode: str = typer.Option("", "--last-seen-pcode", help=_("Last-seen area (P-code).")),
    last_seen_place: str = typer.Option("", "--last-seen-place", help=_("Where last seen (kept encrypted).")),
    last_seen_on: str = typer.Option("", "--last-seen-on", help=_("When last seen (YYYY-MM-DD or DD/MM/YYYY).")),
    inquirer_given_name: str = typer.Option(..., "--inquirer-given-name", help=_("Inquirer's given name.")),
    inquirer_family_name: str = typer.Option("", "--inquirer-family-name", help=_("Inquirer's family name.")),
    inquirer_sex: str = typer.Option("", "--inquirer-sex", help=_("f, m or unknown.")),
    inquirer_contact: str = typer.Option("", "--inquirer-contact", help=_("How to reach the inquirer (kept "
                                                                          "encrypted).")),
    case: str = typer.Option("", "--case", help=_("A case you work on (CAS-…); its consent to tracing is then "
                                                  "required.")),
    consented: bool = typer.Option(False, "--inquirer-consented", help=_("Without a case: the inquirer consented "
                                                                         "to tracing.")),
    as_user: str = AS_USER,
) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        created = tracing.create_request(session, actor, tracing.NewRequest(
            sought_given_name=given_name, sought_family_name=family_name, sought_sex=sex,
            sought_birth_year=birth_year, sought_age=age, last_seen_place=last_seen_place, last_seen_on=last_seen_on,
            last_seen_pcode=last_seen_pcode, relationship=relationship, separated_on=separated_on,
            inquirer_given_name=inquirer_given_name, inquirer_family_name=inquirer_family_name,
            inquirer_sex=inquirer_sex, inquirer_contact=inquirer_contact, case=case, inquirer_consented=consented))
        code = created.code
        detail = tracing.request_detail(session, actor, code)
    console.print(_("The tracing request {code} is recorded.", code=code))
    if detail.consented:
        console.print(_("{n} possible matches to check.", n=number(len(detail.candidates))))
    else:
        console.print(_("No consent to tracing yet: no search was made."))


@tracing_app.command("show", help=_("A request with who is sought, who is looking and its matches (audited)."))
@friendly_errors
def show(code: str = CODE, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        d = tracing.request_detail(session, actor, code)
    r, s = d.request, d.sought
    console.print(_("Tracing request {code}", code=r.code))
    console.print(f"{_('State')}: {_label(vocab.TRACING_STATES, r.state)}")
    console.print(f"{_('Person sought')}: {s.get('given_name', '')} {s.get('family_name') or ''}".rstrip())
    console.print(f"{_('Who is looking')}: {d.inquirer.get('given_name', '')} "
                  f"{d.inquirer.get('family_name') or ''}".rstrip())
    console.print(f"{_('Consent to tracing')}: {_('Yes') if d.consented else _('No')}")
    if d.outcome:
        console.print(f"{_('Outcome')}: {d.outcome.get('note', '')}")
    table = Table(_("Match"), _("Found"), _("Probability"), _("Name"), _("Sex"), _("Birth year"), _("Area"),
                  _("Organisation to contact"), _("Decision"))
    for c in d.candidates:
        found = _("In the registry") if c.kind == "person" else _("Another request")
        table.add_row(str(c.match_id), found, f"{c.probability:.2f}", f"{c.given_name} {c.family_name}",
                      c.sex or "—", str(c.birth_year or "—"), c.area_pcode or "—", c.organisation,
                      _label(vocab.MATCH_STATES, c.state))
    console.print(table)
    for c in d.candidates:
        if c.by_name_rule:
            console.print(_("Match {n}: proposed because the names agree exactly and the birth year is not known.",
                            n=c.match_id))


@tracing_app.command("match", help=_("Search the registry and the other requests now."))
@friendly_errors
def match(code: str = CODE, threshold: float = typer.Option(tracing.DEFAULT_THRESHOLD, "--threshold",
                                                            help=_("Keep matches with at least this probability "
                                                                   "(default 0.3).")),
          as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        done = tracing.match_request(session, actor, code, threshold=threshold)
    console.print(_("{compared} people of the registry compared; {new} new matches; {proposed} to check.",
                    compared=number(done.compared), new=number(done.new), proposed=number(done.proposed)))


def _decide(code: str, match_id: int, decision: str, as_user: str | None) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        tracing.decide_match(session, actor, code, match_id, decision)
    console.print(_("The match is confirmed: the request is matched.") if decision == "confirm"
                  else _("The match is rejected."))


@tracing_app.command("confirm", help=_("Confirm a match: the request becomes matched."))
@friendly_errors
def confirm(code: str = CODE, match_id: int = MATCH, as_user: str = AS_USER) -> None:
    _decide(code, match_id, "confirm", as_user)


@tracing_app.command("reject", help=_("Reject a match: it is not the person."))
@friendly_errors
def reject(code: str = CODE, match_id: int = MATCH, as_user: str = AS_USER) -> None:
    _decide(code, match_id, "reject", as_user)


@tracing_app.command("close", help=_("End a request: reunified or closed, with a note."))
@friendly_errors
def close(code: str = CODE,
          outcome: str = typer.Option(..., "--outcome", help=_("reunified or closed.")),
          note: str = typer.Option(..., "--note", help=_("What happened (kept encrypted).")),
          as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        done = tracing.close_request(session, actor, code, outcome, note)
        state = done.state
    console.print(_("The family is recorded as reunified.") if state == "reunified" else _("The request is closed."))
