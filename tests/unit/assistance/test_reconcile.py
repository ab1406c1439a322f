"""Reconciling a provider's report: what is applied, what is reported and never applied, and what is refused."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.assistance import payment_files, providers, reconcile, states
from jatigi.assistance.models import Cycle, Payment, PaymentProvider, Programme, Reconciliation, Transition
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.core.errors import Conflict, Forbidden, ValidationFailed
from tests.unit.assistance import payment_data as d
from tests.unit.assistance.test_providers import GOOD as MOOV


def _sent(session: Session, tmp_path: Path) -> d.CycleData:
    data = d.approved_cycle(session)
    payment_files.export_cycle(session, d.f.actor(session, d.CASH), cycle_id=data.cycle_id,
                               provider_name="orange_money", out=tmp_path / "orange.csv")
    return data


def _apply(session: Session, data: d.CycleData, path: Path, **kwargs: str) -> reconcile.Result:
    return reconcile.reconcile(session, d.f.actor(session, d.CASH), cycle_id=data.cycle_id, path=path, **kwargs)


def _payments(session: Session, cycle_id: int) -> list[tuple[object, ...]]:
    return [tuple(r) for r in session.execute(
        sa.select(Payment.state, Payment.amount_paid, Payment.paid_on, Payment.provider_status)
        .where(Payment.cycle_id == cycle_id).order_by(Payment.id))]


def test_paid_failed_and_unclaimed_are_applied_and_an_unclaimed_payment_is_paid_later(
        session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)
    r = data.references
    report = d.write_report(tmp_path / "report.csv", [
        [r[0], "SUCCESS", "15000.00", "XOF", "2024-06-05", "TX-1"],
        [r[1], "FAILED", "", "XOF", "", "TX-2"],
        [r[2], "Expired", "", "XOF", "", ""],
    ])
    result = _apply(session, data, report)
    assert result.problems == []
    assert {k: result.counts[k] for k in ("paid", "failed", "unclaimed", "unchanged", "problems")} == {
        "paid": 1, "failed": 1, "unclaimed": 1, "unchanged": 0, "problems": 0}
    assert _payments(session, data.cycle_id) == [
        ("paid", 15000, date(2024, 6, 5), "SUCCESS TX-1"),
        ("failed", None, None, "FAILED TX-2"),
        ("unclaimed", None, None, "Expired"),
        ("held", None, None, None),
    ]
    rec = result.reconciliation
    assert (rec.lines, rec.filename, rec.problems) == (3, "report.csv", [])
    cycle = session.get(Cycle, data.cycle_id)
    assert cycle is not None and cycle.state == "reconciled" and cycle.reconciled_at is not None
    moves = session.execute(sa.select(Transition.from_state, Transition.to_state, Transition.detail)
                            .where(Transition.entity == "cycle", Transition.entity_id == data.cycle_id)
                            .order_by(Transition.id)).all()
    assert [(m[0], m[1]) for m in moves[2:]] == [("sent", "failed"), ("sent", "paid"), ("sent", "unclaimed"),
                                                ("sent", "reconciled")]
    assert moves[3][2] == {"payments": 1, "reconciliation": rec.id}
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "assistance.payments.reconcile")).one()
    assert event.detail is not None and event.detail["paid"] == 1 and event.detail["lines"] == 3

    later = d.write_report(tmp_path / "later.csv", [[r[2], "SUCCESS", "25000", "XOF", "2024-06-20", "TX-3"],
                                                     [r[1], "FAILED", "", "XOF", "", "TX-2"]])
    again = _apply(session, data, later)
    assert (again.counts["paid"], again.counts["unchanged"], again.problems) == (1, 1, [])
    assert _payments(session, data.cycle_id)[2] == ("paid", 25000, date(2024, 6, 20), "SUCCESS TX-3")
    assert session.get(Cycle, data.cycle_id).state == "reconciled"  # type: ignore[union-attr]
    assert session.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 2


def test_the_same_file_is_never_applied_twice(session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)
    report = d.write_report(tmp_path / "report.csv", [[data.references[0], "SUCCESS", "15000", "XOF", "2024-06-05",
                                                       "TX-1"]])
    first = _apply(session, data, report)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(report.read_bytes())
    with pytest.raises(Conflict, match=f"This file was already applied to cycle {data.cycle_id} on .* "
                                       f"\\(reconciliation {first.reconciliation.id}\\); the same report is never"):
        _apply(session, data, copy)


def test_wrong_columns_refuse_the_whole_file(session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)
    report = d.write_report(tmp_path / "report.csv", [[data.references[0], "SUCCESS", "15000"]],
                            header=("Ref", "Status", "Montant"))
    with pytest.raises(ValidationFailed) as refused:
        _apply(session, data, report)
    assert refused.value.message == (
        "report.csv: the columns Reference, Amount Paid, Currency, Date, Transaction ID are missing, so nothing was "
        "applied; a report of Orange Money has the columns Reference, Status, Amount Paid, Currency, Date, "
        "Transaction ID (found: Ref, Status, Montant).")
    assert session.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 0
    assert set(d.payment_states(session, data.cycle_id).values()) == {"sent", "held"}


def test_every_bad_line_is_reported_with_its_line_column_value_and_what_is_accepted_and_never_applied(
        session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)
    # A second cycle of the same programme, sent: its references are not this cycle's.
    second = d.cycle(session, data.programme_id, data.households, number=2, state="sent")
    r, other = data.references, second.references
    report = d.write_report(tmp_path / "report.csv", [
        [r[0], "SUCCESS", "15000", "XOF", "2024-06-05", "TX-1"],       # 2: applied
        [r[1], "SUCCESS", "20000", "EUR", "2024-06-05", "TX-2"],       # 3: another currency
        ["PRG-0001-01-99999", "SUCCESS", "1000", "XOF", "", ""],       # 4: unknown reference
        [other[0], "SUCCESS", "15000", "XOF", "2024-06-05", ""],       # 5: another cycle
        [r[2], "SUCCESS", "25000", "XOF", "2024-06-05", "TX-3"],       # 6: repeated (with 7)
        [r[2], "SUCCESS", "25000", "XOF", "2024-06-06", "TX-4"],       # 7: repeated
        [other[1], "SUCCESS", "abc", "XOF", "2024-06-05", ""],         # 8: unreadable amount
        [other[2], "SUCCESS", "25000", "XOF", "31/31/2024", ""],       # 9: unreadable date
        [r[3], "SUCCESS", "15000", "XOF", "2024-06-05", ""],           # 10: held, never sent
        ["", "SUCCESS", "15000", "XOF", "2024-06-05", ""],             # 11: no reference
        [other[1], "PENDING", "", "XOF", "", ""],                      # 12: unknown status
    ])
    result = _apply(session, data, report)
    found = [(p.row, p.column, p.value, p.message) for p in result.problems]
    assert found == [
        (3, "Currency", "EUR", "An amount in another currency; accepted: XOF (FCFA)."),
        (4, "Reference", "PRG-0001-01-99999",
         f"No payment has this reference; accepted: the references of the payment file of cycle {data.cycle_id}."),
        (5, "Reference", other[0], f"This payment is of cycle 2 of PRG-0001 (cycle {second.cycle_id}), not of this "
                                   f"one; accepted: the references of the payment file of cycle {data.cycle_id}."),
        (6, "Reference", r[2], "The same reference is on lines 6, 7; none of them is applied."),
        (7, "Reference", r[2], "The same reference is on lines 6, 7; none of them is applied."),
        (8, "Amount Paid", "abc", "Not an amount; accepted: a whole number of FCFA, such as 15000."),
        (9, "Date", "31/31/2024", "Not a date; accepted: a date written as 2024-05-31."),
        (10, "Reference", r[3], "This payment is held; accepted: a payment sent to the provider, or an unclaimed "
                                "one now paid."),
        (11, "Reference", "", "No reference; accepted: a payment reference from this cycle's payment file."),
        (12, "Status", "PENDING", "Unknown status; accepted: SUCCESS, FAILED, EXPIRED."),
    ]
    assert result.counts["paid"] == 1 and result.counts["problems"] == 10
    assert result.counts["by_problem"] == {"currency": 1, "unknown_reference": 1, "other_cycle": 1, "repeated": 2,
                                           "amount_unreadable": 1, "date_unreadable": 1, "wrong_state": 1,
                                           "no_reference": 1, "unknown_status": 1}
    assert [s for _, s in sorted(d.payment_states(session, data.cycle_id).items())] == [
        "paid", "sent", "sent", "held"]
    assert set(d.payment_states(session, second.cycle_id).values()) == {"sent", "held"}
    kept = result.reconciliation.problems or []
    assert kept[0] == {"line": 3, "column": "Currency", "value": "EUR", "kind": "currency",
                       "message": "An amount in another currency; accepted: XOF (FCFA)."}


def test_a_wrong_amount_an_already_paid_and_a_reissued_payment_are_never_applied(
        session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)
    r = data.references
    _apply(session, data, d.write_report(tmp_path / "first.csv", [[r[0], "SUCCESS", "15000", "XOF", "", "TX-1"]]))
    session.execute(sa.update(Payment).where(Payment.reference == r[2]).values(state="reissued"))
    report = d.write_report(tmp_path / "second.csv", [
        [r[0], "SUCCESS", "15000", "XOF", "", "TX-9"],
        [r[1], "SUCCESS", "2000", "XOF", "", "TX-2"],
        [r[2], "SUCCESS", "25000", "XOF", "", "TX-3"],
    ])
    with pytest.raises(reconcile.NothingApplied, match="No line of second.csv can be applied .* \\(3 problems\\)") as e:
        _apply(session, data, report)
    assert [(p.row, p.column, p.value, p.message) for p in e.value.problems] == [
        (2, "Reference", r[0], "This payment is already paid; a payment is never applied twice."),
        (3, "Amount Paid", "2000", "The amount paid differs from the entitlement; accepted: 20000."),
        (4, "Reference", r[2], "This payment was re-issued in a later cycle; its replacement is reconciled with "
                               "that cycle."),
    ]
    assert _payments(session, data.cycle_id)[:3] == [
        ("paid", 15000, date.today(), "SUCCESS TX-1"), ("sent", None, None, None), ("reissued", None, None, None)]
    assert session.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 1


def test_an_xlsx_report_with_date_cells(session: Session, tmp_path: Path) -> None:
    from openpyxl import Workbook

    data = _sent(session, tmp_path)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["reference", "STATUS", "Amount Paid", "Currency", "Date", "Transaction ID"])
    ws.append([data.references[0], "success", 15000, "FCFA", datetime(2024, 6, 7, 10, 30), "TX-1"])
    ws.append([data.references[1], "success", 20000.0, None, None, "TX-2"])
    wb.save(tmp_path / "report.xlsx")
    result = _apply(session, data, tmp_path / "report.xlsx")
    assert result.counts["paid"] == 2 and result.problems == []
    assert [p[2] for p in _payments(session, data.cycle_id)[:2]] == [date(2024, 6, 7), date.today()]


def test_only_a_sent_cycle_is_reconciled_by_someone_allowed(session: Session, tmp_path: Path) -> None:
    data = d.approved_cycle(session)
    report = d.write_report(tmp_path / "report.csv", [[data.references[0], "SUCCESS", "15000", "XOF", "", ""]])
    with pytest.raises(Conflict, match="This cycle is approved and cannot become reconciled"):
        _apply(session, data, report, provider_name="orange_money")
    with pytest.raises(Forbidden, match="assistance:payment:reconcile"):
        reconcile.reconcile(session, d.f.actor(session, d.IM), cycle_id=data.cycle_id, path=report)
    cycle = session.get(Cycle, data.cycle_id)
    assert cycle is not None
    cycle.state = "sent"
    with pytest.raises(ValidationFailed, match=f"The provider of cycle {data.cycle_id} is not known; give --provider"):
        _apply(session, data, report)


def test_a_crash_in_the_middle_leaves_nothing(engine: sa.Engine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(engine) as s:
        data = _sent(s, tmp_path)
    report = d.write_report(tmp_path / "report.csv", [[data.references[0], "SUCCESS", "15000", "XOF", "", ""],
                                                      [data.references[1], "FAILED", "", "XOF", "", ""]])

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(states, "move", crash)  # after the payments were changed, before the cycle is
    with pytest.raises(RuntimeError, match="killed"), session_scope(engine) as s:
        _apply(s, data, report)
    monkeypatch.undo()
    with session_scope(engine) as s:
        assert set(d.payment_states(s, data.cycle_id).values()) == {"sent", "held"}
        assert s.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 0
        assert s.get(Cycle, data.cycle_id).state == "sent"  # type: ignore[union-attr]
        assert s.scalar(sa.select(sa.func.count()).select_from(Transition)) == 2  # the export's
        result = _apply(s, data, report)  # and the same file applies afterwards
        assert (result.counts["paid"], result.counts["failed"]) == (1, 1)


@pytest.mark.parametrize(("value", "decimal", "expected"), [
    ("15000", "none", 15000), ("15 000", "none", 15000), ("15000.00", "point", 15000), ("15,000.00", "point", 15000),
    ("15.000,00", "comma", 15000), (15000.0, "none", 15000), (7, "none", 7), ("", "none", None),
])
def test_amounts_are_read_as_the_template_says(value: object, decimal: str, expected: int | None) -> None:
    assert reconcile.parse_amount(value, decimal) == expected


@pytest.mark.parametrize(("value", "decimal"), [("15000.5", "point"), ("-10", "point"), ("15000.00", "none"),
                                                ("abc", "point"), (True, "none"), (1.5, "none")])
def test_unreadable_amounts(value: object, decimal: str) -> None:
    with pytest.raises(ValueError):
        reconcile.parse_amount(value, decimal)


def test_a_report_is_applied_only_with_the_provider_the_cycle_was_sent_to(session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)
    providers.add_provider(session, d.f.actor(session, d.ADMIN), "moov", MOOV)
    report = d.write_report(tmp_path / "report.csv", [[data.references[0], "SUCCESS", "15000", "XOF", "", ""]])
    with pytest.raises(Conflict) as refused:
        _apply(session, data, report, provider_name="moov")
    assert refused.value.message == (
        f"Cycle {data.cycle_id} was sent to Orange Money (orange_money): it is exported again and reconciled with "
        "that provider only, so that no payment goes out twice.")
    assert session.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 0
    session.execute(sa.update(PaymentProvider).where(PaymentProvider.name == "orange_money").values(active=False))
    with pytest.raises(ValidationFailed, match="The payment provider orange_money is inactive"):
        _apply(session, data, report)
    session.execute(sa.update(PaymentProvider).where(PaymentProvider.name == "orange_money").values(active=True))
    assert _apply(session, data, report).counts["paid"] == 1  # without --provider: the cycle's own


def test_another_organisation_s_reference_is_reported_as_unknown(session: Session, tmp_path: Path) -> None:
    data = _sent(session, tmp_path)  # ONGA's cycle
    # ONGB's programme and its sent cycle.
    theirs = d.programme(session, code="PRG-0002")
    session.execute(sa.update(Programme).where(Programme.id == theirs).values(
        org_id=sa.select(Organisation.id).where(Organisation.acronym == "ONGB").scalar_subquery()))
    other = d.cycle(session, theirs, d.households(session), state="sent")
    cycle = session.get(Cycle, other.cycle_id)
    assert cycle is not None
    cycle.provider_id = providers.get_provider(session, "orange_money").id
    session.flush()
    report = d.write_report(tmp_path / "report.csv", [
        [other.references[0], "SUCCESS", "15000", "XOF", "", ""],
        [data.references[0], "SUCCESS", "15000", "XOF", "", ""],  # ONGA's payment
        ["PRG-0002-01-99999", "SUCCESS", "15000", "XOF", "", ""],  # no such payment
    ])
    result = reconcile.reconcile(session, d.f.actor(session, d.OTHER), cycle_id=other.cycle_id, path=report)
    unknown = ("No payment has this reference; accepted: the references of the payment file of cycle "
               f"{other.cycle_id}.")
    assert [(p.row, p.value, p.message, reconcile._kind(p)) for p in result.problems] == [
        (3, data.references[0], unknown, "unknown_reference"), (4, "PRG-0002-01-99999", unknown, "unknown_reference")]
    assert all("PRG-0001" not in str(p["message"]) for p in result.reconciliation.problems or [])
    assert d.payment_states(session, data.cycle_id)[data.references[0]] == "sent"


def test_a_payment_moved_while_the_report_is_applied_stops_it_whole(session: Session, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sent(session, tmp_path)
    r = data.references
    _apply(session, data, d.write_report(tmp_path / "first.csv", [[r[2], "EXPIRED", "", "XOF", "", ""]]))
    classify = reconcile._classify

    def classify_then_reissue(*args: object) -> None:
        classify(*args)  # type: ignore[arg-type]
        # Meanwhile the next cycle is prepared and re-issues the unclaimed payment.
        session.execute(sa.update(Payment).where(Payment.reference == r[2]).values(state="reissued"))

    monkeypatch.setattr(reconcile, "_classify", classify_then_reissue)
    report = d.write_report(tmp_path / "later.csv", [[r[0], "SUCCESS", "15000", "XOF", "", ""],
                                                     [r[2], "SUCCESS", "25000", "XOF", "", ""]])
    with pytest.raises(Conflict, match=f"Some payments of cycle {data.cycle_id} changed while the report was being "
                                       "applied .*; nothing was applied. Apply the report again."):
        _apply(session, data, report)
    assert [s for _, s in sorted(d.payment_states(session, data.cycle_id).items())] == [
        "sent", "sent", "reissued", "held"]  # never paid after it was re-issued
    assert session.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 1


def test_reconciling_locks_the_programme_as_preparing_does(engine: sa.Engine, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    with session_scope(engine) as s:
        data = _sent(s, tmp_path)
    report = d.write_report(tmp_path / "report.csv", [[data.references[0], "SUCCESS", "15000", "XOF", "", ""]])
    seen: list[str] = []
    classify = reconcile._classify

    def classify_and_try_the_lock(*args: object) -> None:
        with engine.connect() as other:  # a preparation of the programme's next cycle, meanwhile
            try:
                other.execute(sa.text("SELECT id FROM programmes WHERE id = :id FOR UPDATE NOWAIT"),
                              {"id": data.programme_id})
                seen.append("free")
            except sa.exc.OperationalError:
                seen.append("locked")
            other.rollback()
        classify(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reconcile, "_classify", classify_and_try_the_lock)
    with session_scope(engine) as s:
        _apply(s, data, report)
    assert seen == ["locked"]
