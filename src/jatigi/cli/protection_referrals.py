"""`jatigi protection services list|add|import` and `jatigi protection referrals list|send|answer`:
the service directory (the referral pathway) and referrals between organisations.

The same rules as the pages: a referral goes only where the survivor consented (or by the case's
supervisor's override, with a reason); the receiving side never reads the case, and only the receiver who
accepted a referral reads its shared summary; every read and write is audited on the case.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _, number
from jatigi.protection import policies, vocab
from jatigi.protection import referrals as ref
from jatigi.protection import services as svc
from jatigi.registry.views import when

services_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
referrals_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
SHOWN_PROBLEMS = 30


def _label(codes: dict[str, str], code: str | None) -> str:
    return _(codes[code]) if code in codes else (code or "—")


def _problems(found: list[tuple[str, str]], labels: dict[str, str]) -> None:
    for name, message in found:
        err_console.print(_("{field}: {message}", field=_(labels[name]) if name in labels else name, message=message),
                          style="red")


# ---- services ----------------------------------------------------------------------------------


@services_app.command("list", help=_("The services of the directory: by area (with the units above and inside it) "
                                     "and type."))
@friendly_errors
def list_services(
    area: str = typer.Option("", "--area", help=_("A P-code, e.g. ML090104.")),
    service_type: str = typer.Option("", "--type", help=_("Only this type: {codes}.",
                                                          codes=", ".join(vocab.SERVICE_TYPES))),
    inactive: bool = typer.Option(False, "--inactive", help=_("Also list deactivated services.")),
    csv_file: Path = typer.Option(None, "--csv", help=_("Write the list to this CSV file (the columns the import "
                                                        "reads).")),
    as_user: str = AS_USER,
) -> None:
    filters = svc.Filters(area=area.strip().upper(), service_type=service_type.strip(), inactive=inactive)
    with db_session() as session:
        actor = acting_user(session, as_user)
        if csv_file is not None:
            with csv_file.open("w", encoding="utf-8", newline="") as fh:
                n = svc.write_csv(session=session, actor=actor, out=fh, filters=filters)
            console.print(_("{n} services written to {file}.", n=number(n), file=str(csv_file)))
            return
        total, rows = svc.list_services(session=session, actor=actor, filters=filters, limit=None)
        table = Table(_("Id"), _("Service"), _("Type of service"), _("Provider"), _("Area"), _("Phone"),
                      _("Opening hours"))
        for r in rows:
            s = r.service
            table.add_row(str(s.id), s.name + ("" if s.active else " — " + _("Deactivated")),
                          _label(vocab.SERVICE_TYPES, s.service_type),
                          s.provider_name + (f" ({r.organisation})" if r.organisation else ""),
                          f"{r.area_name} ({s.area_pcode})", s.phone or "—", s.opening_hours or "—")
    if rows:
        console.print(table)
    console.print(_("{n} services.", n=number(total)))


@services_app.command("add", help=_("Add a service to the directory."))
@friendly_errors
def add_service(
    name: str = typer.Option(..., "--name", help=_("The name of the service.")),
    service_type: str = typer.Option(..., "--type", help=_("One of: {codes}.", codes=", ".join(vocab.SERVICE_TYPES))),
    area: str = typer.Option(..., "--area", help=_("The P-code of the unit where the service is.")),
    organisation: str = typer.Option("", "--organisation", help=_("The provider organisation's acronym, if it uses "
                                                                  "Jatigi (referrals reach it).")),
    provider: str = typer.Option("", "--provider", help=_("The provider's name, if it does not use Jatigi.")),
    address: str = typer.Option("", "--address", help=_("Address.")),
    phone: str = typer.Option("", "--phone", help=_("Phone.")),
    email: str = typer.Option("", "--email", help=_("Email.")),
    hours: str = typer.Option("", "--hours", help=_("Opening hours.")),
    notes: str = typer.Option("", "--notes", help=_("Languages spoken, women staff, cost…")),
    as_user: str = AS_USER,
) -> None:
    data = svc.ServiceIn.of({"name": name, "service_type": service_type, "area_pcode": area,
                             "organisation": organisation, "provider_name": provider, "address": address,
                             "phone": phone, "email": email, "opening_hours": hours, "notes": notes})
    with db_session() as session:
        actor = acting_user(session, as_user)
        try:
            s = svc.add_service(session=session, actor=actor, data=data)
        except svc.ServiceInvalid as exc:
            _problems(exc.problems, svc.LABELS)
            raise typer.Exit(1) from None
        console.print(_("Service {id} added: {name}.", id=s.id, name=s.name))


@services_app.command("import", help=_("Import services from a CSV or XLSX file: every row, or none when a row is "
                                       "bad."))
@friendly_errors
def import_services(file: Path = typer.Argument(..., help=_("The CSV or XLSX file.")), as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        try:
            done = svc.import_services(session=session, actor=actor, path=file)
        except svc.ImportInvalid as exc:
            err_console.print(exc.message, style="red")
            for p in exc.problems[:SHOWN_PROBLEMS]:
                err_console.print(_("Row {row}, column {column}, value “{value}”: {message}", row=p.row,
                                    column=p.column or "—", value=p.value, message=p.message))
            if len(exc.problems) > SHOWN_PROBLEMS:
                err_console.print(_("… and {n} more.", n=number(len(exc.problems) - SHOWN_PROBLEMS)))
            raise typer.Exit(1) from None
    console.print(_("{added} services added, {updated} updated.", added=number(done.added),
                    updated=number(done.updated)))


# ---- referrals ---------------------------------------------------------------------------------


@referrals_app.command("list", help=_("Referrals received by your organisation, or sent for your cases."))
@friendly_errors
def list_referrals(
    sent: bool = typer.Option(False, "--sent", help=_("Those sent for your cases (default: received).")),
    state: str = typer.Option("", "--state", help=_("Only this state: {codes}.",
                                                    codes=", ".join(vocab.REFERRAL_STATES))),
    as_user: str = AS_USER,
) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        lister = ref.sent_referrals if sent else ref.received_referrals
        try:
            total, rows = lister(session, actor, state=state.strip(), limit=None)
        except ref.ReferralInvalid as exc:
            _problems(exc.problems, ref.LABELS)
            raise typer.Exit(1) from None
        table = Table(_("Referral"), _("Case") if sent else _("From"), _("To"), _("Type of service"), _("Sent"),
                      _("State"), _("Outcome"))
        for row in rows:
            r = row.referral
            state_text = _label(vocab.REFERRAL_STATES, r.state)
            if row.consent_withdrawn:
                state_text += " — " + _("Consent withdrawn since")
            table.add_row(r.code + (" !" if r.urgent else ""), (row.case_code or "—") if sent else row.from_org,
                          row.to_org, _label(vocab.SERVICE_TYPES, r.service_type), when(r.sent_at), state_text,
                          _label(vocab.REFERRAL_OUTCOMES, r.outcome))
    if rows:
        console.print(table)
    console.print(_("{n} referrals.", n=number(total)))


@referrals_app.command("send", help=_("Refer a case to a service of the directory (or to an organisation and a type "
                                      "of service): only with the survivor's consent to that organisation."))
@friendly_errors
def send(
    case: str = typer.Argument(..., help=_("The case's code, e.g. CAS-7KQ4MX.")),
    service: int = typer.Option(None, "--service", help=_("The id of a service of the directory.")),
    organisation: str = typer.Option("", "--organisation", help=_("Or the receiving organisation's acronym…")),
    service_type: str = typer.Option("", "--type", help=_("…and the type of service.")),
    urgent: bool = typer.Option(False, "--urgent", help=_("Mark the referral urgent: it is listed first.")),
    note: str = typer.Option("", "--note", help=_("A short note for the receiving organisation (kept encrypted).")),
    share_identity: bool = typer.Option(False, "--share-name", help=_("Share the name and contact (needs the "
                                                                      "consent).")),
    override: str = typer.Option("", "--without-consent", help=_("The case's supervisor only: send without consent, "
                                                                 "giving the reason (at least 15 characters).")),
    as_user: str = AS_USER,
) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        found = policies.get_case(session, actor, case)
        new = ref.NewReferral(service_id=service, organisation=organisation, service_type=service_type, urgent=urgent,
                              note=note, share_identity=share_identity, override_reason=override)
        try:
            referral = ref.send_referral(session, actor, found, new)
        except ref.ReferralInvalid as exc:
            _problems(exc.problems, ref.LABELS)
            raise typer.Exit(1) from None
        console.print(_("Referral {code} sent.", code=referral.code))


@referrals_app.command("answer", help=_("Answer a referral sent to your organisation (accept, decline, complete), or "
                                        "withdraw one you sent (withdraw)."))
@friendly_errors
def answer(
    code: str = typer.Argument(..., help=_("The referral's code, e.g. REF-7KQ4MX.")),
    action: str = typer.Argument(..., help=_("accept, decline, complete or withdraw.")),
    note: str = typer.Option("", "--note", help=_("A note (kept encrypted); required to decline.")),
    outcome: str = typer.Option("", "--outcome", help=_("To complete: {codes}.",
                                                        codes=", ".join(vocab.REFERRAL_OUTCOMES))),
    as_user: str = AS_USER,
) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        try:
            if action == "accept":
                done = ref.accept_referral(session, actor, code, note)
            elif action == "decline":
                done = ref.decline_referral(session, actor, code, note)
            elif action == "complete":
                done = ref.complete_referral(session, actor, code, outcome, note)
            elif action == "withdraw":
                done = ref.withdraw_referral(session, actor, code, note)
            else:
                err_console.print(_("Unknown action {value}; accepted: accept, decline, complete, withdraw.",
                                    value=action), style="red")
                raise typer.Exit(2)
        except ref.ReferralInvalid as exc:
            _problems(exc.problems, ref.LABELS)
            raise typer.Exit(1) from None
        console.print(_("Referral {code}: {state}.", code=done.code, state=_label(vocab.REFERRAL_STATES, done.state)))
