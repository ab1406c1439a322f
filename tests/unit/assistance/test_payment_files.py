"""Payment files: what the provider receives (exact columns and rows), and when a cycle may be exported."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import payment_files, providers
from jatigi.assistance.models import Cycle, Payment, PaymentProvider, Transition
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM, Permission
from jatigi.core.crypto import keyring
from jatigi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jatigi.registry import service as registry
from jatigi.registry.models import Household
from tests.unit.assistance import payment_data as d

XLSX_TEMPLATE = """
label = "Bank transfer list"
kind = "mobile_money"
format = "xlsx"
phone_style = "+223XXXXXXXX"

[[columns]]
header = "Phone"
field = "msisdn"
[[columns]]
header = "Beneficiary"
field = "name"
[[columns]]
header = "Amount"
field = "amount"
[[columns]]
header = "Site"
field = "site"
[[columns]]
header = "Month"
field = "period"
[[columns]]
header = "Reference"
field = "reference"

[report]
reference = "Reference"
status = "Status"
amount = "Amount"
[report.statuses]
done = "paid"
"""


def _export(session: Session, cycle_id: int, out: Path, provider: str = "orange_money",
            user: str = d.CASH) -> payment_files.ExportResult:
    return payment_files.export_cycle(session, d.f.actor(session, user), cycle_id=cycle_id, provider_name=provider,
                                      out=out)


def test_the_mobile_money_file_has_the_due_lines_with_phones_written_as_the_template_says(
        session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    out = tmp_path / "orange.csv"
    result = _export(session, data.cycle_id, out)
    refs = data.references
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows == [
        ["MSISDN", "Amount", "Currency", "Reference", "Name"],
        ["22376123456", "15000", "XOF", refs[0], "Aminata Maïga"],
        ["22366001122", "20000", "XOF", refs[1], "Oumar Touré"],
        ["22370000001", "25000", "XOF", refs[2], "Fanta Diarra"],
    ]  # the held line (Issa Coulibaly) is not in the file
    assert (result.lines, result.total, result.first) == (3, 60_000, True)
    assert not (tmp_path / "orange.csv.part").exists()

    states = d.payment_states(session, data.cycle_id)
    assert [states[r] for r in refs] == ["sent", "sent", "sent", "held"]
    cycle = session.get(Cycle, data.cycle_id)
    assert cycle is not None and cycle.state == "sent" and cycle.sent_at is not None
    moves = session.execute(sa.select(Transition.from_state, Transition.to_state, Transition.detail, Transition.by_name)
                            .where(Transition.entity == "cycle", Transition.entity_id == data.cycle_id)
                            .order_by(Transition.id)).all()
    assert [(m[0], m[1], m[3]) for m in moves] == [("due", "sent", d.CASH), ("approved", "sent", d.CASH)]
    assert moves[0][2]["payments"] == 3
    assert moves[1][2] == {"provider": "orange_money", "lines": 3, "total": 60_000, "file": "orange.csv"}
    assert cycle.provider_id == providers.get_provider(session, "orange_money").id
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "assistance.payments.export")).one()
    assert event.actor == d.CASH and event.entity_id == str(data.cycle_id)
    assert event.detail is not None and (event.detail["lines"], event.detail["total"]) == (3, 60_000)


def test_a_sent_cycle_is_exported_again_identically_and_nothing_changes(session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    _export(session, data.cycle_id, tmp_path / "first.csv")
    again = _export(session, data.cycle_id, tmp_path / "again.csv", user=d.APPROVER)
    assert not again.first and (again.lines, again.total) == (3, 60_000)
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transition)) == 2
    events = session.scalars(sa.select(AuditEvent.actor).where(AuditEvent.action == "assistance.payments.export")
                             .order_by(AuditEvent.id)).all()
    assert events == [d.CASH, d.APPROVER]


@pytest.mark.parametrize("state", ["prepared", "rejected", "reconciled", "cancelled"])
def test_only_an_approved_or_sent_cycle_is_exported(session: Session, tmp_path: Path, state: str) -> None:
    data = d.approved_cycle(session)
    cycle = session.get(Cycle, data.cycle_id)
    assert cycle is not None
    cycle.state = state
    session.flush()
    with pytest.raises(Conflict, match=f"Cycle {data.cycle_id} is {state}: only an approved cycle is exported"):
        _export(session, data.cycle_id, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_exporting_needs_the_permissions_and_the_programme_organisation(session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    out = tmp_path / "x.csv"
    with pytest.raises(Forbidden, match="assistance:payment:export"):
        _export(session, data.cycle_id, out, user=d.IM)
    carla = d.f.actor(session, d.CASH)
    no_phones = dataclasses.replace(carla, permissions=carla.permissions
                                    - {str(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE)})
    with pytest.raises(Forbidden, match="registry:household:read_sensitive"):
        payment_files.export_cycle(session, no_phones, cycle_id=data.cycle_id, provider_name="orange_money", out=out)
    with pytest.raises(NotFound, match=f"No cycle {data.cycle_id} that you may see"):
        _export(session, data.cycle_id, out, user=d.OTHER)
    with pytest.raises(NotFound, match="No payment provider wave; known: cash_distribution, orange_money"):
        _export(session, data.cycle_id, out, provider="wave")
    assert not out.exists()
    assert set(d.payment_states(session, data.cycle_id).values()) == {"due", "held"}


def test_a_due_line_without_a_phone_stops_the_export_before_anything_is_written(
        session: Session, tmp_path: Path) -> None:
    d.people(session)
    recipients = (*d.RECIPIENTS[:2], dataclasses.replace(d.RECIPIENTS[2], phone=None))
    codes = d.households(session, recipients)
    data = d.cycle(session, d.programme(session), codes, recipients=recipients)
    out = tmp_path / "orange.csv"
    with pytest.raises(ValidationFailed) as refused:
        _export(session, data.cycle_id, out)
    assert refused.value.message == (
        f"1 due payments of cycle {data.cycle_id} are for households with no phone number, which mobile money needs "
        f"(first: {codes[2]}); nothing was written. Reject the cycle and prepare it again: a household without a "
        "phone number is then held.")  # an approved cycle is rejected before it is prepared again
    assert not out.exists() and not (tmp_path / "orange.csv.part").exists()
    assert session.get(Cycle, data.cycle_id).state == "approved"  # type: ignore[union-attr]


def test_a_phone_that_is_not_a_mali_number_stops_the_export(session: Session, tmp_path: Path) -> None:
    d.people(session)
    recipients = (d.RECIPIENTS[0], dataclasses.replace(d.RECIPIENTS[1], phone="+226 70 00 00 00"))
    codes = d.households(session, recipients)
    data = d.cycle(session, d.programme(session), codes, recipients=recipients)
    out = tmp_path / "orange.csv"
    with pytest.raises(ValidationFailed, match=f"not a Mali mobile number .* \\(first: {codes[1]}\\); nothing was"):
        _export(session, data.cycle_id, out)
    assert not out.exists() and not (tmp_path / "orange.csv.part").exists()
    assert set(d.payment_states(session, data.cycle_id).values()) == {"due"}


def test_an_xlsx_template_writes_numbers_and_sites(session: Session, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    data = d.approved_cycle(session)
    providers.add_provider(session, d.f.actor(session, d.ADMIN), "bank", XLSX_TEMPLATE)
    out = tmp_path / "bank.xlsx"
    _export(session, data.cycle_id, out, provider="bank")
    sheet = load_workbook(out).active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["Phone", "Beneficiary", "Amount", "Site", "Month", "Reference"],
        ["+22376123456", "Aminata Maïga", 15000, "Commune IV", "2024-06", data.references[0]],
        ["+22366001122", "Oumar Touré", 20000, "Mopti Commune", "2024-06", data.references[1]],
        ["+22370000001", "Fanta Diarra", 25000, "Commune IV", "2024-06", data.references[2]],
    ]


def test_the_cash_distribution_list_is_a_pdf_by_site_with_a_signature_column(
        session: Session, tmp_path: Path) -> None:
    from pypdf import PdfReader

    d.people(session)
    codes = d.households(session)
    data = d.cycle(session, d.programme(session, modality="cash_in_hand"), codes)
    carla = d.f.actor(session, d.CASH)
    without_phones = dataclasses.replace(carla, permissions=carla.permissions
                                         - {str(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE)})
    out = tmp_path / "list.pdf"
    result = payment_files.export_cycle(session, without_phones, cycle_id=data.cycle_id,
                                        provider_name="cash_distribution", out=out)
    assert (result.lines, result.total, result.format) == (3, 60_000, "pdf")
    assert out.read_bytes().startswith(b"%PDF")
    pages = [p.extract_text() for p in PdfReader(out).pages]
    assert len(pages) == 3  # Commune IV, Mopti Commune, the summary
    bamako, mopti, summary = pages
    assert "Cash distribution list" in bamako and "PRG-0001" in bamako and "2024-06" in bamako
    assert "Commune IV (ML090104)" in bamako and "Signature or thumbprint" in bamako
    assert data.references[0] in bamako and "Aminata Maïga" in bamako and "Fanta Diarra" in bamako
    assert "Total at Commune IV: 2 recipients, 40,000" in bamako
    assert "Oumar Touré" in mopti and "Total at Mopti Commune: 1 recipients, 20,000" in mopti
    assert "Issa Coulibaly" not in "".join(pages)  # held
    assert "60,000" in summary and d.CASH in summary
    assert session.get(Cycle, data.cycle_id).state == "sent"  # type: ignore[union-attr]


def test_phone_styles_periods_and_sites(session: Session) -> None:
    assert payment_files.phone_style("22376123456", "223XXXXXXXX") == "22376123456"
    assert payment_files.phone_style("22376123456", "+223XXXXXXXX") == "+22376123456"
    assert payment_files.phone_style("22376123456", "00223XXXXXXXX") == "0022376123456"
    assert payment_files.phone_style("22376123456", "XXXXXXXX") == "76123456"
    assert payment_files.phone_style("22676123456", "XXXXXXXX") is None
    assert payment_files.phone_style("2237612345", "223XXXXXXXX") is None
    assert payment_files.amount_text(15000, "comma") == "15000,00"
    june = Cycle(period_start=date(2024, 6, 1), period_end=date(2024, 6, 30))
    assert payment_files.period_text(june) == "2024-06"
    half = Cycle(period_start=date(2024, 6, 1), period_end=date(2024, 6, 15))
    assert payment_files.period_text(half) == "2024-06-01/2024-06-15"
    d.f.places(session)
    sites = payment_files.sites(session)
    assert sites["ML090104223"] == ("ML090104", "Commune IV")  # a quartier: its commune
    assert sites["ML090104"] == ("ML090104", "Commune IV")
    assert sites["ML0901"] == ("ML0901", "Bamako")


def test_a_sent_cycle_is_exported_again_only_to_the_provider_it_was_sent_to(session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    providers.add_provider(session, d.f.actor(session, d.ADMIN), "bank", XLSX_TEMPLATE)
    _export(session, data.cycle_id, tmp_path / "orange.csv")
    with pytest.raises(Conflict) as refused:
        _export(session, data.cycle_id, tmp_path / "bank.xlsx", provider="bank")
    assert refused.value.message == (
        f"Cycle {data.cycle_id} was sent to Orange Money (orange_money): it is exported again and reconciled with "
        "that provider only, so that no payment goes out twice.")
    assert not (tmp_path / "bank.xlsx").exists()
    assert _export(session, data.cycle_id, tmp_path / "again.csv").lines == 3  # its own provider: the same lines


@pytest.mark.parametrize(("modality", "provider", "expected"), [
    ("mobile_money", "cash_distribution", "Programme PRG-0001 pays by mobile money: its payment file goes to a "
     "provider of the kind mobile-money operator; cash_distribution is of the kind cash-in-hand distribution list."),
    ("cash_in_hand", "orange_money", "Programme PRG-0001 pays by cash in hand: its payment file goes to a provider of "
     "the kind cash-in-hand distribution list; orange_money is of the kind mobile-money operator."),
    ("voucher", "orange_money", "Programme PRG-0001 pays by voucher: its payment file goes to a provider of the kind "
     "cash-in-hand distribution list; orange_money is of the kind mobile-money operator."),
])
def test_the_first_export_goes_to_a_provider_that_suits_the_modality(session: Session, tmp_path: Path, modality: str,
                                                                     provider: str, expected: str) -> None:
    d.people(session)
    data = d.cycle(session, d.programme(session, modality=modality), d.households(session))
    with pytest.raises(ValidationFailed) as refused:
        _export(session, data.cycle_id, tmp_path / "x", provider=provider)
    assert refused.value.message == expected
    cycle = session.get(Cycle, data.cycle_id)
    assert cycle is not None and (cycle.state, cycle.provider_id) == ("approved", None)
    assert set(d.payment_states(session, data.cycle_id).values()) == {"due", "held"}


def test_an_inactive_provider_makes_no_file(session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    providers.ensure_shipped(session)
    session.execute(sa.update(PaymentProvider).where(PaymentProvider.name == "orange_money").values(active=False))
    with pytest.raises(ValidationFailed, match="The payment provider orange_money is inactive: no payment file is "
                                               "made for it and no report of it is applied."):
        _export(session, data.cycle_id, tmp_path / "x.csv")
    assert session.get(Cycle, data.cycle_id).state == "approved"  # type: ignore[union-attr]


def test_the_file_pays_the_phone_approved_not_one_recorded_since(session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    # After approval, someone records another number for Aminata's household.
    session.execute(sa.update(Household).where(Household.code == data.households[0])
                    .values(phone_sealed=keyring().seal("22365432100")))
    out = tmp_path / "orange.csv"
    _export(session, data.cycle_id, out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[1][:2] == ["22376123456", "15000"]  # the number approved
    assert "22365432100" not in out.read_text(encoding="utf-8")


def test_lines_prepared_before_phones_were_copied_use_the_household_s_phone(session: Session, tmp_path: Path) -> None:
    d.people(session)
    data = d.cycle(session, d.programme(session), d.households(session), copy_phones=False)
    out = tmp_path / "orange.csv"
    _export(session, data.cycle_id, out)
    assert [r[0] for r in csv.reader(io.StringIO(out.read_text(encoding="utf-8")))][1:] == [
        "22376123456", "22366001122", "22370000001"]


def test_households_removed_or_hidden_after_approval_are_cancelled_not_blocking(
        session: Session, tmp_path: Path) -> None:
    d.people(session)
    recipients = (*d.RECIPIENTS, d.Recipient("Mariam", "Keïta", "+226 70 00 00 00", amount=30_000))
    codes = d.households(session, recipients)
    data = d.cycle(session, d.programme(session), codes, recipients=recipients)
    ada = d.f.actor(session, d.ADMIN)
    # After approval: Aminata's household is deleted and purged, Oumar's deleted, Fanta's moved to ONGB.
    registry.delete_household(session=session, actor=ada, code=codes[0], reason="Doublon")
    assert registry.purge_expired(session=session, actor=SYSTEM, today=date.today() + timedelta(days=4000)) == 1
    registry.delete_household(session=session, actor=ada, code=codes[1], reason="Doublon")
    ongb = session.scalar(sa.text("SELECT id FROM organisations WHERE acronym = 'ONGB'"))
    session.execute(sa.update(Household).where(Household.code == codes[2]).values(org_id=ongb))
    session.expire_all()

    # Mariam's number is not a Mali one: refused, and the cancellations are undone with the rest.
    with pytest.raises(ValidationFailed, match="not a Mali mobile number"):
        _export(session, data.cycle_id, tmp_path / "x.csv")
    refs = data.references
    assert [d.payment_states(session, data.cycle_id)[r] for r in refs] == ["due", "due", "due", "held", "due"]

    session.execute(sa.update(Payment).where(Payment.reference == refs[4])
                    .values(phone_sealed=keyring().seal("22379000000")))
    out = tmp_path / "orange.csv"
    result = _export(session, data.cycle_id, out)
    assert (result.lines, result.total, result.cancelled) == (1, 30_000, {"removed": 2, "hidden": 1})
    assert payment_files.cancelled_lines(result.cancelled) == [
        "2 due payments were cancelled and left out of the file: the household was removed from the registry after "
        "the cycle was approved.",
        "1 due payments were cancelled and left out of the file: the household is no longer one the person "
        "exporting may see."]
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[1:] == [["22379000000", "30000", "XOF", refs[4], "Mariam Keïta"]]
    assert [d.payment_states(session, data.cycle_id)[r] for r in refs] == [
        "cancelled", "cancelled", "cancelled", "held", "sent"]
    moves = session.execute(sa.select(Transition.from_state, Transition.to_state, Transition.reason, Transition.detail)
                            .where(Transition.entity == "cycle", Transition.entity_id == data.cycle_id)
                            .order_by(Transition.id)).all()
    assert [(m[0], m[1], m[3].get("payments")) for m in moves] == [
        ("due", "cancelled", 2), ("due", "cancelled", 1), ("due", "sent", 1), ("approved", "sent", None)]
    assert moves[0][2] == ("Cancelled when the payment file was exported: the household was removed from the "
                           "registry after the cycle was approved")
    assert session.get(Cycle, data.cycle_id).state == "sent"  # type: ignore[union-attr]
