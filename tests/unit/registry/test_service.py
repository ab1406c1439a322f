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


def test_a_wrong_or_other_phone_finds_nothing(session: Session, codes: dict[str, list[str]]) -> None:
    alice = f.actor(session, "alice")
    with pytest.raises(ValidationFailed, match="not a phone number"):
        service.search(session=session, actor=alice, phone="abc")
    assert service.search(session=session, actor=alice, phone="70 00 00 01").total == 0
    # The head's own phone finds the household too.
    assert service.search(session=session, actor=alice, phone="66554433").total == 5


def test_names_in_arabic_script_are_found_by_their_first_letters(session: Session, codes: dict[str, list[str]]) -> None:
    from datetime import date

    from jatigi.registry.records import PersonRecord

    alice = f.actor(session, "alice")
    code = f.household(session, alice, members=[PersonRecord(1, "محمد", "الأنصاري", "m", "head", date(1970, 1, 1))])
    hits = service.search(session=session, actor=alice, q="محم")
    assert [h.code for h in hits.hits] == [code]
    assert service.search(session=session, actor=alice, q="maig").total == 5


def test_an_agreement_opens_only_households_that_consented_to_sharing(session: Session) -> None:
    from datetime import date

    from jatigi.accounts import service as accounts
    from jatigi.registry.records import ConsentRecord

    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGB")
    f.user(session, "alice", "ONGA")
    f.user(session, "bob", "ONGB")
    alice = f.actor(session, "alice")
    shared = f.household(session, alice)
    private = f.household(session, alice, consents=[ConsentRecord("registration", True),
                                                    ConsentRecord("data_sharing", False)])
    accounts.create_agreement(session=session, actor=SYSTEM, provider="ONGA", recipient="ONGB",
                              purpose="Cash 2014", signed_on=date(2014, 1, 1))
    bob = f.actor(session, "bob")
    assert [h.code for h in service.list_households(session=session, actor=bob).hits] == [shared]
    with pytest.raises(NotFound):
        service.get_household(session=session, actor=bob, code=private)
    assert sum(r.households for r in service.summary(session=session, actor=bob)) == 1
    # The owner sees both.
    assert service.list_households(session=session, actor=alice).total == 2


def test_phones_and_whereabouts_open_only_for_the_registering_organisation_with_consent(session: Session) -> None:
    from datetime import date

    from jatigi.accounts import service as accounts
    from jatigi.registry.records import ConsentRecord, RelativeRecord

    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGB")
    f.user(session, "alice", "ONGA")
    f.user(session, "bob", "ONGB")
    alice = f.actor(session, "alice")
    relatives = [RelativeRecord("Oumar Maïga", "spouse", "m", 40, whereabouts="Vu à Gao en mars")]
    code = f.household(session, alice, relatives=relatives)
    no_contact = f.household(session, alice, relatives=relatives, consents=[
        ConsentRecord("registration", True), ConsentRecord("data_sharing", True)])
    accounts.create_agreement(session=session, actor=SYSTEM, provider="ONGA", recipient="ONGB",
                              purpose="Tracing", signed_on=date(2014, 1, 1))
    mine = service.get_household(session=session, actor=alice, code=code)
    assert mine.phone == "22376123456" and list(mine.whereabouts.values()) == ["Vu à Gao en mars"]
    unconsented = service.get_household(session=session, actor=alice, code=no_contact)
    assert unconsented.phone is None and list(unconsented.whereabouts.values()) == [None]
    partner = service.get_household(session=session, actor=f.actor(session, "bob"), code=code)
    assert partner.phone is None and list(partner.whereabouts.values()) == [None]
    opened = session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "household.read")).all()
    assert opened == [{"opened": ["phone", "whereabouts"]}, None, None]
