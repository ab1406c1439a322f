"""`jatigi protection cases list|show|open|close-request|approve-closure|reject-closure|reopen|hand-over|
hand-over-all`.

The same rules as the pages: only the cases one needs to know (caseworker, supervisor, shared),
GBV survivors shown by their survivor code unless --show-name (audited), every read audited, a
case one may not see answered like one that does not exist.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.i18n import _, day, number
from jatigi.protection import case_work, cases, consent, incidents, vocab

cases_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
CODE = typer.Argument(..., help=_("The case's code, e.g. CAS-7KQ4MX."))
REASON = typer.Option(..., "--reason", help=_("Why (kept encrypted)."))


def _label(codes: dict[str, str], code: str | None) -> str:
    return _(codes[code]) if code in codes else (code or "—")


@cases_app.command("list", help=_("The cases you need to know, the most at risk first."))
@friendly_errors
def list_cases(
    case_type: str = typer.Option("", "--type", help=_("Only this type: {codes}.", codes=", ".join(vocab.CASE_TYPES))),
    state: str = typer.Option("", "--state", help=_("Only this state: {codes}.", codes=", ".join(vocab.CASE_STATES))),
    risk: str = typer.Option("", "--risk", help=_("Only this risk level: {codes}.",
                                                  codes=", ".join(vocab.RISK_LEVELS))),
    stage: str = typer.Option("", "--stage", help=_("Only this stage: {codes}.", codes=", ".join(vocab.CASE_STAGES))),
    search: str = typer.Option("", "--search", help=_("A case code or a survivor code (names cannot be searched).")),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help=_("At most this many lines.")),
    as_user: str = AS_USER,
) -> None:
    filters = cases.Filters(case_type=case_type, state=state, risk_level=risk, stage=stage, q=search)
    with db_session() as session:
        actor = acting_user(session, as_user)
        total, rows = cases.list_cases(session, actor, filters, limit=limit)
        table = Table(_("Case"), _("Person"), _("Type of case"), _("Risk level"), _("State"), _("Stage"),
                      _("Opened on"), _("Caseworker"))
        for r in rows:
            c = r.case
            table.add_row(c.code, r.shown_as, _label(vocab.CASE_TYPES, c.case_type),
                          _label(vocab.RISK_LEVELS, c.risk_level), _label(vocab.CASE_STATES, c.state),
                          _label(vocab.CASE_STAGES, c.stage), day(c.opened_on), r.caseworker)
    if rows:
        console.print(table)
    console.print(_("{n} cases you need to know match.", n=number(total)))


@cases_app.command("show", help=_("A case file (the read is recorded)."))
@friendly_errors
def show(code: str = CODE,
         show_name: bool = typer.Option(False, "--show-name", help=_("Show a GBV survivor's name (recorded).")),
         as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        v = cases.view_case(session, actor, code, reveal_name=show_name)
        c = v.case
        contact = v.contact
        facts = Table(show_header=False, box=None)
        rows = [(_("Case"), c.code), (_("Type of case"), _label(vocab.CASE_TYPES, c.case_type)),
                (_("State"), _label(vocab.CASE_STATES, c.state)), (_("Stage"), _label(vocab.CASE_STAGES, c.stage)),
                (_("Risk level"), _label(vocab.RISK_LEVELS, c.risk_level)), (_("Survivor code"), c.survivor_code),
                (_("Name"), v.display_name if v.name_shown else _("hidden (--show-name)")),
                (_("Sex"), _label(vocab.SEXES, c.sex)), (_("Age group"), _label(vocab.AGE_GROUPS, c.age_group)),
                (_("Area"), c.area_pcode or "—"), (_("Opened on"), day(c.opened_on)),
                (_("Caseworker"), v.caseworker), (_("Supervisor"), v.supervisor),
                (_("May we call?"), _("Yes") if contact.get("may_call") else _("NO: do not call")),
                (_("When to call"), contact.get("call_when") or "—"),
                (_("Name to ask for"), contact.get("ask_for") or contact.get("safe_name") or "—"),
                (_("Summary"), v.summary or "—")]
        if v.name_shown:
            rows += [(_("Phone"), v.person.get("phone") or "—"), (_("Address"), v.person.get("address") or "—")]
        for label, value in rows:
            facts.add_row(label, value)
        console.print(facts)
        for k in consent.consents_of(session, c.id):
            console.print(_("Consent: {purpose} — {answer}{withdrawn}", purpose=_label(vocab.CONSENT_PURPOSES, k.purpose),
                            answer=_("given") if k.granted else _("refused"),
                            withdrawn=" — " + _("withdrawn") if k.withdrawn_at else ""))
        for i in incidents.incidents(session, c):
            console.print(_("Incident: {type}, {month}", type=_label(vocab.GBV_TYPES, i.incident.incident_type),
                            month=i.incident.incident_month.isoformat()[:7]))
        work = Table(_("Date"), _("Kind of entry"), _("State"), _("Text"), title=_("Case work"))
        for e, text in case_work.entries(session, c):
            work.add_row(day(e.created_at), _label(vocab.ENTRY_KINDS, e.kind), _label(vocab.ENTRY_STATUSES, e.status),
                         text or "—")
        console.print(work)
        history = Table(_("When"), _("By"), _("What"), _("From"), _("To"), _("Reason"), title=_("History"))
        for t in case_work.transitions(session, c):
            history.add_row(f"{t.at:%Y-%m-%d %H:%M}", t.by, case_work.step_label(t.field),
                            case_work.step_value(t.field, t.from_value), case_work.step_value(t.field, t.to_value),
                            t.reason or "—")
        console.print(history)


@cases_app.command("open", help=_("Open a case at intake; you become its caseworker."))
@friendly_errors
def open_case(
    case_type: str = typer.Option(..., "--type", help=_("One of: {codes}.", codes=", ".join(vocab.CASE_TYPES))),
    sex: str = typer.Option(..., "--sex", help=_("f, m or unknown.")),
    area: str = typer.Option(..., "--area", help=_("The P-code of the area, e.g. ML090104.")),
    may_call: str = typer.Option(..., "--may-call", help=_("yes or no: the survivor's choice.")),
    summary: str = typer.Option(..., "--summary", help=_("What brings the person; - to read it from the standard "
                                                         "input.")),
    given_name: str = typer.Option("", "--given-name", help=_("The person's given name (sealed).")),
    family_name: str = typer.Option("", "--family-name", help=_("The person's family name (sealed).")),
    birth_date: str = typer.Option("", "--birth-date", help=_("YYYY-MM-DD; or give --age.")),
    age: str = typer.Option("", "--age", help=_("Age in years, if the birth date is not known.")),
    phone: str = typer.Option("", "--phone", help=_("A phone number to reach the person (sealed).")),
    address: str = typer.Option("", "--address", help=_("Where the person lives (sealed).")),
    call_when: str = typer.Option("", "--call-when", help=_("When one may call.")),
    ask_for: str = typer.Option("", "--ask-for", help=_("The name to ask for.")),
    risk: str = typer.Option("medium", "--risk", help=_("low, medium, high or critical.")),
    household: str = typer.Option("", "--household", help=_("A registry household's code you may see.")),
    supervisor: str = typer.Option("", "--supervisor", help=_("The supervisor's user name (default: the only one).")),
    as_user: str = AS_USER,
) -> None:
    text = sys.stdin.read() if summary == "-" else summary
    new = cases.NewCase(case_type=case_type, sex=sex, summary=text, area_pcode=area, may_call=may_call,
                        given_name=given_name, family_name=family_name, birth_date=birth_date or None, age=age,
                        phone=phone, address=address, call_when=call_when, ask_for=ask_for, risk_level=risk,
                        household=household, supervisor=supervisor)
    with db_session() as session:
        actor = acting_user(session, as_user)
        case = cases.open_case(session, actor, new)
        console.print(_("Case {code} is open (survivor code {survivor}).", code=case.code,
                        survivor=case.survivor_code))


def _state(code: str, state: str) -> None:
    console.print(_("Case {code} is now: {state}.", code=code, state=_label(vocab.CASE_STATES, state).lower()))


@cases_app.command("close-request", help=_("Ask the supervisor to close a case."))
@friendly_errors
def close_request(code: str = CODE,
                  reason: str = typer.Option(..., "--reason", help=_("One of: {codes}.",
                                                                    codes=", ".join(vocab.CLOSURE_REASONS))),
                  confirm_open_items: bool = typer.Option(
                      False, "--confirm-open-items",
                      help=_("Request closure even though plan actions or referrals are still open.")),
                  as_user: str = AS_USER) -> None:
    with db_session() as session:
        case = case_work.request_closure(session, acting_user(session, as_user), code, reason,
                                         confirm_open_items=confirm_open_items)
        _state(case.code, case.state)


@cases_app.command("approve-closure", help=_("Approve a requested closure (the case's supervisor)."))
@friendly_errors
def approve_closure(code: str = CODE, reason: str = typer.Option("", "--reason", help=_("Optional (kept encrypted).")),
                    as_user: str = AS_USER) -> None:
    with db_session() as session:
        case = case_work.approve_closure(session, acting_user(session, as_user), code, reason)
        for item in case_work.open_items(session, case):
            console.print(_("Still open: {item}", item=item.description))
        _state(case.code, case.state)


@cases_app.command("reject-closure", help=_("Send a requested closure back to the caseworker (the supervisor)."))
@friendly_errors
def reject_closure(code: str = CODE, reason: str = REASON, as_user: str = AS_USER) -> None:
    with db_session() as session:
        case = case_work.reject_closure(session, acting_user(session, as_user), code, reason)
        _state(case.code, case.state)


@cases_app.command("reopen", help=_("Reopen a closed case."))
@friendly_errors
def reopen(code: str = CODE, reason: str = REASON, as_user: str = AS_USER) -> None:
    with db_session() as session:
        case = case_work.reopen(session, acting_user(session, as_user), code, reason)
        _state(case.code, case.state)


@cases_app.command("hand-over", help=_("Hand the supervision of a case to another supervisor (its supervisor)."))
@friendly_errors
def hand_over(code: str = CODE,
              supervisor: str = typer.Option(..., "--to", help=_("The new supervisor's user name.")),
              reason: str = typer.Option("", "--reason", help=_("Why (kept encrypted).")),
              as_user: str = AS_USER) -> None:
    with db_session() as session:
        case = case_work.hand_over(session, acting_user(session, as_user), code, supervisor, reason)
        console.print(_("Case {code} is now supervised by {name}.", code=case.code, name=supervisor), highlight=False)


@cases_app.command("hand-over-all", help=_("Move every case of a supervisor who left to another supervisor of the same "
                                           "organisation (an operator at the machine, without --as)."))
@friendly_errors
def hand_over_all(from_user: str = typer.Option(..., "--from", help=_("The supervisor who left.")),
                  to_user: str = typer.Option(..., "--to", help=_("The new supervisor's user name."))) -> None:
    from jatigi.accounts.service import user_by_name
    from jatigi.core.authz import SYSTEM

    with db_session() as session:
        old, new = user_by_name(session=session, username=from_user), user_by_name(session=session, username=to_user)
        if old.org_id != new.org_id:
            raise cases.CaseInvalid([("supervisor", _("The new supervisor must be a supervisor of the same "
                                                      "organisation."))])
        moved = case_work.hand_over_all(session, SYSTEM, old.org_id, old.id, new.id)
        console.print(_("{n} cases are now supervised by {name}.", n=number(moved), name=to_user), highlight=False)
