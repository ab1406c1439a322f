"""Complaints and feedback: recorded with a deadline, sealed, routed confidentially when sensitive,
handled through the allowed moves only, and kept to their organisation."""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import complaints as cmp
from jatigi.assistance.models import Complaint, Transition
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.core.errors import Conflict, Forbidden, NotFound
from tests import factories as f
from tests.unit.assistance import feedback_data as fd

TODAY = date(2024, 7, 15)
CODE = re.compile(r"CMP-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}")


def _new(**overrides: object) -> cmp.NewComplaint:
    values: dict[str, object] = {"channel": "hotline", "category": "late", "priority": "medium",
                                 "received_on": "2024-07-01", "description": "Le paiement de juin n'est pas arrivé."}
    values.update(overrides)
    return cmp.NewComplaint(**values)  # type: ignore[arg-type]


@pytest.fixture
def paid(session: Session) -> fd.Paid:
    fd.people(session)
    return fd.programme(session)


def test_a_complaint_gets_its_deadline_from_its_priority_and_a_history(session: Session, paid: fd.Paid) -> None:
    carla = f.actor(session, "carla")
    c = cmp.record(session, carla, _new(payment=paid.references[1][0], name="Awa Traoré", contact="76 11 22 33"),
                   today=TODAY)
    assert CODE.fullmatch(c.code) and c.state == "open" and not c.sensitive
    assert c.respond_by == date(2024, 7, 8)  # medium: 7 days
    assert c.programme_id is not None and c.household_id is not None and c.admin1 == "ML09"
    high = cmp.record(session, carla, _new(priority="high", received_on="03/07/2024"), today=TODAY)
    assert high.respond_by == date(2024, 7, 5)
    given = cmp.record(session, carla, _new(priority="low", respond_by="2024-07-30"), today=TODAY)
    assert given.respond_by == date(2024, 7, 30)

    d = cmp.details(session, carla, c.code, today=TODAY)
    assert (d.description, d.name, d.contact) == ("Le paiement de juin n'est pas arrivé.", "Awa Traoré",
                                                  "76 11 22 33")
    assert d.payment == paid.references[1][0] and d.programme == "PRG-0001" and d.overdue
    assert [(t.from_state, t.to_state, t.by_name) for t in d.history] == [(None, "open", "carla")]
    reads = session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "assistance.complaint.read"))
    assert list(reads) == [{"code": c.code}]


def test_bad_input_names_every_field_and_writes_nothing(session: Session, paid: fd.Paid) -> None:
    carla = f.actor(session, "carla")
    with pytest.raises(cmp.ComplaintInvalid) as caught:
        cmp.record(session, carla, _new(channel="fax", category="", priority="urgent", received_on="2024-08-01",
                                        description="  ", programme="PRG-9999", payment="NOPE",
                                        household="HH-NOTHERE", contact="x" * 201), today=TODAY)
    fields = [name for name, _m in caught.value.problems]
    assert fields == ["channel", "category", "priority", "received_on", "description", "contact", "programme",
                      "payment", "household"]
    assert "accepted: hotline, help_desk, sms" in caught.value.message
    assert "A date in the future is not accepted." in caught.value.message
    with pytest.raises(cmp.ComplaintInvalid) as caught:
        cmp.record(session, carla, _new(respond_by="2024-06-01"), today=TODAY)
    assert caught.value.problems == [("respond_by", "The answer cannot be due before the complaint was received.")]
    # A payment of another programme than the one named.
    other = fd.programme(session, code="PRG-0002", households=1, states=("sent",))
    with pytest.raises(cmp.ComplaintInvalid) as caught:
        cmp.record(session, carla, _new(programme="PRG-0001", payment=other.references[1][0]), today=TODAY)
    assert caught.value.problems[0][0] == "payment" and "PRG-0002" in caught.value.problems[0][1]
    assert session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0


def test_sensitive_complaints_exist_only_for_focal_points(session: Session, paid: fd.Paid) -> None:
    carla, pat, ada = (f.actor(session, n) for n in ("carla", "pat", "ada"))
    general = cmp.record(session, carla, _new(), today=TODAY)
    abuse = cmp.record(session, carla, _new(category="sexual_exploitation", description="Un agent a demandé…"),
                       today=TODAY)
    marked = cmp.record(session, carla, _new(category="wrong_amount", sensitive=True), today=TODAY)
    assert abuse.sensitive and marked.sensitive
    assert not cmp.may_see(carla, abuse) and cmp.may_see(pat, abuse) and cmp.may_see(ada, marked)

    total, rows = cmp.queue(session, carla, today=TODAY)
    assert (total, [r.complaint.code for r in rows]) == (1, [general.code])
    counts = cmp.counts(session, carla, TODAY)
    assert (counts.total, counts.by_category, counts.overdue) == (1, {"late": 1}, 1)
    for search in (abuse.code, marked.code):
        assert cmp.queue(session, carla, cmp.Filters(q=search), today=TODAY)[0] == 0
    assert cmp.queue(session, carla, cmp.Filters(category="sexual_exploitation"), today=TODAY)[0] == 0
    for code in (abuse.code, marked.code):
        with pytest.raises(NotFound, match=f"No complaint {code} that you may see."):
            cmp.details(session, carla, code)
        with pytest.raises(NotFound):
            cmp.close(session, carla, code)
    out = io.StringIO()
    assert cmp.write_csv(session, carla, out, today=TODAY) == 1
    assert abuse.code not in out.getvalue() and marked.code not in out.getvalue()

    assert cmp.queue(session, pat, today=TODAY)[0] == 3
    assert cmp.counts(session, pat, TODAY).by_category == {"late": 1, "sexual_exploitation": 1, "wrong_amount": 1}
    assert cmp.details(session, pat, abuse.code).description == "Un agent a demandé…"
    # Only focal points may be given a sensitive complaint.
    assert [u for u, _n in cmp.assignees(session, abuse)] == ["ada", "pat"]
    assert [u for u, _n in cmp.assignees(session, general)] == ["ada", "carla", "cindy", "pat"]
    with pytest.raises(cmp.ComplaintInvalid, match="carla cannot handle this complaint"):
        cmp.assign(session, pat, abuse.code, "carla")
    # Someone without the permission does not see the queue at all.
    with pytest.raises(Forbidden):
        cmp.queue(session, f.actor(session, "ivan"))


def test_an_organisation_sees_its_own_complaints(session: Session, paid: fd.Paid) -> None:
    mine = cmp.record(session, f.actor(session, "carla"), _new(), today=TODAY)
    bert = f.actor(session, "bert")
    theirs = cmp.record(session, bert, _new(description="Autre ONG"), today=TODAY)
    assert theirs.org_id != mine.org_id
    assert [r.complaint.code for r in cmp.queue(session, bert, today=TODAY)[1]] == [theirs.code]
    with pytest.raises(NotFound):
        cmp.details(session, bert, mine.code)
    # Not a programme, payment nor household of another organisation either.
    with pytest.raises(cmp.ComplaintInvalid) as caught:
        cmp.record(session, bert, _new(programme="PRG-0001", payment=paid.references[1][0],
                                       household=paid.households[0]), today=TODAY)
    assert [n for n, _m in caught.value.problems] == ["programme", "payment", "household"]
    assert cmp.queue(session, f.actor(session, "ada"), today=TODAY)[0] == 2  # sees all


def test_moves_go_through_the_states_and_are_kept(session: Session, paid: fd.Paid) -> None:
    carla = f.actor(session, "carla")
    c = cmp.record(session, carla, _new(), today=TODAY)
    with pytest.raises(Conflict, match="This complaint is open and cannot become closed"):
        cmp.close(session, carla, c.code)
    with pytest.raises(cmp.ComplaintInvalid, match="bert cannot handle this complaint"):
        cmp.assign(session, carla, c.code, "bert")  # another organisation's
    cmp.assign(session, carla, c.code, "cindy", version=1)
    assert (c.state, c.version) == ("in_progress", 2)
    with pytest.raises(Conflict, match="Someone else changed this complaint meanwhile"):
        cmp.assign(session, carla, c.code, "carla", version=1)
    cmp.assign(session, carla, c.code, "carla", version=2)  # reassigned: no change of state
    with pytest.raises(cmp.ComplaintInvalid) as caught:
        cmp.resolve(session, carla, c.code, "   ")
    assert caught.value.problems == [("resolution", "This value is required.")]
    cmp.resolve(session, carla, c.code, "Payé le 16 juillet par Orange Money.", today=TODAY)
    assert (c.state, c.resolved_on) == ("resolved", TODAY)
    with pytest.raises(Conflict, match="reopen it first"):
        cmp.assign(session, carla, c.code, "cindy")
    cmp.reopen(session, carla, c.code)
    assert (c.state, c.resolved_on) == ("in_progress", None)
    cmp.resolve(session, carla, c.code, "Payé.", today=TODAY)
    cmp.close(session, carla, c.code)
    with pytest.raises(Conflict, match="it can no longer change"):
        cmp.reopen(session, carla, c.code)
    moves = session.execute(sa.select(Transition.from_state, Transition.to_state, Transition.detail)
                            .where(Transition.entity == "complaint", Transition.entity_id == c.id)
                            .order_by(Transition.id)).all()
    assert [(a, b) for a, b, _d in moves] == [(None, "open"), ("open", "in_progress"), ("in_progress", "resolved"),
                                              ("resolved", "in_progress"), ("in_progress", "resolved"),
                                              ("resolved", "closed")]
    assert moves[1][2] == {"assigned_to": "cindy"}
    actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "complaint")
                                   .order_by(AuditEvent.id)))
    assert actions == ["assistance.complaint.open", "assistance.complaint.in_progress",
                       "assistance.complaint.assign", "assistance.complaint.resolved",
                       "assistance.complaint.in_progress", "assistance.complaint.resolved",
                       "assistance.complaint.closed"]
    assert cmp.details(session, carla, c.code).resolution == "Payé."


def test_overdue_is_an_active_complaint_past_its_deadline(session: Session, paid: fd.Paid) -> None:
    carla = f.actor(session, "carla")
    late = cmp.record(session, carla, _new(received_on="2024-07-01", priority="high"), today=TODAY)  # due Jul 3
    answered = cmp.record(session, carla, _new(received_on="2024-07-01", priority="high"), today=TODAY)
    cmp.resolve(session, carla, answered.code, "Réponse donnée.", today=TODAY)
    on_time = cmp.record(session, carla, _new(received_on="2024-07-14", priority="low"), today=TODAY)
    total, rows = cmp.queue(session, carla, cmp.Filters(overdue=True), today=TODAY)
    assert (total, [r.complaint.code for r in rows]) == (1, [late.code])
    assert cmp.counts(session, carla, TODAY).overdue == 1
    # The active ones first, the most urgent first.
    assert [r.complaint.code for r in cmp.queue(session, carla, today=TODAY)[1]] == [late.code, on_time.code,
                                                                                      answered.code]
    assert cmp.queue(session, carla, cmp.Filters(state="resolved"), today=TODAY)[0] == 1
    with pytest.raises(cmp.ComplaintInvalid, match="Unknown choice"):
        cmp.queue(session, carla, cmp.Filters(state="lost"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_what_was_said_and_who_said_it_are_not_in_the_database_file(engine: sa.Engine, db_url: str) -> None:
    secrets = ("Fatoumata Diarra", "+223 76 98 54 32", "Le chef de quartier garde une partie de l'argent",
               "Remboursé par le partenaire")
    with session_scope(engine) as s:
        fd.people(s)
        carla = f.actor(s, "carla")
        c = cmp.record(s, carla, _new(category="fraud", name=secrets[0], contact=secrets[1],
                                      description=secrets[2]), today=TODAY)
        cmp.resolve(s, carla, c.code, secrets[3], today=TODAY)
        code = c.code
    with session_scope(engine) as s:
        cmp.details(s, f.actor(s, "carla"), code)  # opened, and the read audited
    engine.dispose()
    path = Path(db_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert code.encode() in data
    for text in secrets:
        assert text.encode("utf-8") not in data, text


def test_codes_are_random_and_tell_nothing_of_how_many_complaints_exist(session: Session, paid: fd.Paid,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    carla, pat = f.actor(session, "carla"), f.actor(session, "pat")
    hidden = cmp.record(session, pat, _new(category="protection_risk"), today=TODAY)  # carla never sees it
    first, second = (cmp.record(session, carla, _new(), today=TODAY) for _ in range(2))
    codes = [hidden.code, first.code, second.code]
    assert all(CODE.fullmatch(code) for code in codes) and len(set(codes)) == 3
    assert [r.complaint.code for r in cmp.queue(session, carla, today=TODAY)[1]] == [second.code, first.code]
    # A code already taken is drawn again.
    drawn = iter([first.code, "CMP-XXXXXXXX"])
    monkeypatch.setattr(cmp, "new_code", lambda: next(drawn))
    assert cmp.record(session, carla, _new(), today=TODAY).code == "CMP-XXXXXXXX"


def test_codes_given_before_stay_valid(session: Session, paid: fd.Paid) -> None:
    carla = f.actor(session, "carla")
    old = cmp.record(session, carla, _new(), today=TODAY)
    old.code = "CMP-000012"
    session.flush()
    assert cmp.details(session, carla, "cmp-000012", today=TODAY).complaint.id == old.id
    assert cmp.queue(session, carla, cmp.Filters(q="CMP-000012"), today=TODAY)[0] == 1
