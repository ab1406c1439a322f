"""The registry's services: listing, searching, editing, deleting, within what an actor may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import Forbidden, NotFound, ValidationFailed
from jatigi.registry import service
from jatigi.registry.history import household_history
from jatigi.registry.models import Consent, Household, Person, RecordVersion
from tests import factories as f


@pytest.fixture
def codes(session: Session) -> dict[str, list[str]]:
    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGB")
    f.user(session, "alice", "ONGA")
    f.user(session, "bob", "ONGB")
    f.user(session, "vera", "ONGA", "viewer")
    alice, bob = f.actor(session, "alice"), f.actor(session, "bob")
    return {"ONGA": [f.household(session, alice) for _ in range(5)],
            "ONGB": [f.household(session, bob, current_pcode=f.MOPTI_COMMUNE)]}


def test_list_pages_through_visible_households_only_and_is_audited(
        session: Session, codes: dict[str, list[str]]) -> None:
    alice = f.actor(session, "alice")
    first = service.list_households(session=session, actor=alice, limit=2)
    rest = service.list_households(session=session, actor=alice, limit=10, offset=2)
    assert first.total == rest.total == 5
    assert [h.code for h in first.hits + rest.hits] == codes["ONGA"]
    assert first.hits[0].head_name == "Aminata Maïga" and first.hits[0].current_name == "Commune IV"
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.list")).first()
    assert event is not None and event.detail["codes"] == codes["ONGA"][:2]
    with pytest.raises(Forbidden):
        service.list_households(session=session, actor=f.actor(session, "vera"))
    assert service.list_households(session=session, actor=SYSTEM, limit=500).total == 6


def test_search_needs_a_filter_and_stays_within_visibility(session: Session, codes: dict[str, list[str]]) -> None:
    alice = f.actor(session, "alice")
    with pytest.raises(ValidationFailed):
        service.search(session=session, actor=alice)
    assert service.search(session=session, actor=alice, pcode="ML05").total == 0
    assert service.search(session=session, actor=f.actor(session, "bob"), pcode="ML05").total == 1
    assert service.search(session=session, actor=alice, phone="+223 76 12 34 56").total == 5
    assert service.search(session=session, actor=alice, population_group="host").total == 0


def test_an_edit_keeps_the_previous_state_and_a_stale_version_conflicts(
        session: Session, codes: dict[str, list[str]]) -> None:
    alice, code = f.actor(session, "alice"), codes["ONGA"][0]
    hh = service.update_household(session=session, actor=alice, code=code, expected_version=1,
                                  changes={"current_pcode": "ml050109", "phone": "70 00 00 01"})
    assert (hh.version, hh.current_pcode, hh.current_admin1) == (2, "ML050109", "ML05")
    with pytest.raises(service.VersionConflict) as err:
        service.update_household(session=session, actor=alice, code=code, expected_version=1,
                                 changes={"intention": "return"})
    assert err.value.status_code == 409
    [snapshot] = session.scalars(sa.select(RecordVersion).where(RecordVersion.entity_id == hh.id)).all()
    assert snapshot.data["current_pcode"] == "ML090104" and snapshot.version == 1
    [entry] = household_history(session=session, actor=alice, code=code)
    changed = {c.field: (c.before, c.after) for c in entry.changes}
    assert changed["current_pcode"] == ("ML090104", "ML050109")
    assert changed["phone"] == ("…", "…")  # sealed values are never shown
    assert service.search(session=session, actor=alice, phone="70000001").total == 1
    with pytest.raises(NotFound):
        service.update_household(session=session, actor=f.actor(session, "bob"), code=code,
                                 changes={"intention": "return"})


def test_delete_hides_and_purge_erases_only_after_retention(session: Session, codes: dict[str, list[str]]) -> None:
    alice, code = f.actor(session, "alice"), codes["ONGA"][0]
    hh = service.delete_household(session=session, actor=alice, code=code, reason="Duplicate")
    hh_id, purge_after = hh.id, hh.purge_after
    assert purge_after is not None
    with pytest.raises(NotFound):
        service.get_household(session=session, actor=alice, code=code)
    assert service.list_households(session=session, actor=alice).total == 4
    assert service.purge_expired(session=session, actor=SYSTEM, today=purge_after) == 0
    with pytest.raises(Forbidden):
        service.purge_expired(session=session, actor=alice, today=purge_after + timedelta(days=1))
    assert service.purge_expired(session=session, actor=SYSTEM, today=purge_after + timedelta(days=1)) == 1
    for model in (Person, Consent):
        assert session.scalar(sa.select(sa.func.count()).select_from(model)
                              .where(model.household_id == hh_id)) == 0
    assert session.get(Household, hh_id) is None


def test_summary_counts_households_people_and_female_heads(session: Session, codes: dict[str, list[str]]) -> None:
    rows = service.summary(session=session, actor=f.actor(session, "alice"))
    assert [(r.admin1_pcode, r.admin1_name, r.population_group, r.households, r.people, r.female_headed)
            for r in rows] == [("ML09", "Bamako", "idp", 5, 15, 5)]
    assert service.summary(session=session, actor=f.actor(session, "vera"))[0].households == 5
