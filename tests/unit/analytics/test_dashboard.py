"""The dashboard's figures: what a user sees on the home page, within what they may see."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.analytics import dashboard as dash
from jatigi.analytics.schemas import Dashboard
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM, Actor
from jatigi.core.errors import Forbidden, ValidationFailed
from jatigi.registry.records import ConsentRecord, PersonRecord
from tests import factories as f

TODAY = date(2025, 1, 1)
HAMDALLAYE = "ML090104223"  # a quartier of Bamako's Commune IV
LAFIABOUGOU = "ML090104445"
SHARING = [ConsentRecord("registration", True), ConsentRecord("data_sharing", True)]
NOT_SHARING = [ConsentRecord("registration", True), ConsentRecord("data_sharing", False)]


@pytest.fixture
def registry(session: Session) -> None:
    """ONGA registers four households (three in Bamako, one in Mopti); ONGB two in Mopti and
    shares with ONGA the one whose household agreed; ONGC has no agreement with anyone."""
    f.places(session)
    for acronym in ("ONGA", "ONGB", "ONGC"):
        f.org(session, acronym)
    f.user(session, "alice", "ONGA")
    f.user(session, "vera", "ONGA", "viewer")
    f.user(session, "bob", "ONGB")
    f.user(session, "carol", "ONGC")
    accounts.create_agreement(session=session, actor=SYSTEM, provider="ONGB", recipient="ONGA",
                              purpose="Coordination of assistance in Mopti", signed_on=date(2024, 1, 1))
    alice, bob = f.actor(session, "alice"), f.actor(session, "bob")
    # IDP, Commune IV (recorded at the commune), renting, 3 households in the dwelling, wants to
    # stay; a woman and two children, one with a lot of difficulty walking.
    f.household(session, alice)
    # IDP in a quartier, with a host family, 5 households in the dwelling, wants to return; a
    # man and his wife, who cannot see at all.
    f.household(session, alice, current_pcode=HAMDALLAYE, living_arrangement="host_family_free",
                households_in_dwelling=5, intention="return", monthly_rent_xof=None, rent_arrears_xof=None,
                members=[PersonRecord(1, "Oumar", "Touré", "m", "head", date(1980, 2, 1)),
                         PersonRecord(2, "Fanta", "Touré", "f", "spouse", date(1988, 1, 1), wg={"seeing": 4})])
    # Hosts in another quartier, in their own home: a man, a girl turning 18 in June 2025 and a
    # boy with only some difficulty hearing.
    f.household(session, alice, population_group="host", current_pcode=LAFIABOUGOU, living_arrangement="own_home",
                households_in_dwelling=1, intention=None, origin_pcode=None, displacement_date=None,
                arrival_date=None, monthly_rent_xof=None, rent_arrears_xof=None, movements=[],
                members=[PersonRecord(1, "Bakary", "Diarra", "m", "head", date(1975, 5, 5)),
                         PersonRecord(2, "Awa", "Diarra", "f", "child", date(2007, 6, 1)),
                         PersonRecord(3, "Sidi", "Diarra", "m", "child", date(2012, 3, 3), wg={"hearing": 2})])
    # IDP in Mopti, renting, 4 households in the dwelling, wants to return; the default family.
    f.household(session, alice, current_pcode=f.MOPTI_COMMUNE, households_in_dwelling=4, intention="return")
    # ONGB: a returned couple in Mopti who agreed to sharing, and an IDP family who did not.
    f.household(session, bob, population_group="idp_returned", current_pcode=f.MOPTI_COMMUNE,
                living_arrangement="own_home", households_in_dwelling=2, monthly_rent_xof=None,
                rent_arrears_xof=None, consents=SHARING,
                members=[PersonRecord(1, "Hamadoun", "Cissé", "m", "head", date(1970, 1, 1)),
                         PersonRecord(2, "Mariam", "Cissé", "f", "spouse", date(1975, 1, 1))])
    f.household(session, bob, current_pcode=f.MOPTI_COMMUNE, consents=NOT_SHARING)


def board(session: Session, username: str, **filters: object) -> Dashboard:
    return dash.dashboard(session=session, actor=f.actor(session, username), today=TODAY, **filters)  # type: ignore[arg-type]


def places(b: Dashboard) -> dict[str, int]:
    return {p.pcode: p.households for p in b.by_place if p.households}


def test_the_figures_add_up_what_the_user_may_see(session: Session, registry: None) -> None:
    b = board(session, "alice")
    t = b.totals
    # ONGA's four households and the ONGB household shared under the agreement.
    assert (t.households, t.people, t.female_headed) == (5, 13, 2)
    assert t.female_headed_share == pytest.approx(0.4)
    assert (t.people_with_disability, t.children) == (3, 6)
    groups = {g.group: (g.households, g.people, g.female_headed) for g in b.by_group}
    assert groups == {"idp": (3, 8, 2), "idp_returned": (1, 2, 0), "idp_settled_elsewhere": (0, 0, 0),
                      "repatriated_refugee": (0, 0, 0), "host": (1, 3, 0)}
    assert [(c.code, c.households) for c in b.living_arrangements] == [
        ("host_family_free", 1), ("host_family_paying", 0), ("renting", 2), ("own_home", 2),
        ("collective_site", 0), ("other", 0)]
    assert (b.overcrowding.households, b.overcrowding.recorded) == (2, 5)
    assert b.overcrowding.share == pytest.approx(0.4)
    # Intentions of the three households still displaced; the returned couple is not asked.
    assert b.intentions.displaced == 3
    assert {c.code: c.households for c in b.intentions.counts} == {
        "return": 2, "stay": 1, "relocate": 0, "undecided": 0}
    assert b.intentions.not_recorded == 0


def test_regions_by_default_with_names_centroids_and_every_region(session: Session, registry: None) -> None:
    b = board(session, "alice")
    assert (b.place, b.level, b.trail, b.unplaced_households) == (None, 1, (), 0)
    assert len(b.by_place) == 9  # every region, those without households too
    bamako, mopti = b.by_place[0], b.by_place[1]
    assert (bamako.pcode, bamako.name, bamako.households, bamako.people, bamako.female_headed) == (
        "ML09", "Bamako", 3, 8, 1)
    assert (mopti.pcode, mopti.households, mopti.people, mopti.female_headed) == ("ML05", 2, 5, 1)
    assert bamako.lat == pytest.approx(12.60921) and bamako.lon == pytest.approx(-7.98004)
    assert not bamako.has_geometry and not bamako.has_boundary
    assert b.levels == (0, 1, 2, 3, 4)


@pytest.mark.parametrize(("place", "level", "expected"), [
    ("ML09", 2, {"ML0901": 3}),  # a region: its cercles
    ("ML0901", 3, {"ML090104": 3}),  # a cercle: its communes
    ("ml090104", 4, {HAMDALLAYE: 1, LAFIABOUGOU: 1}),  # a Bamako commune: its quartiers
    ("ML05", 2, {"ML0501": 2}),
    # A commune whose households are recorded at the commune: it stays at the commune.
    (f.MOPTI_COMMUNE, 3, {f.MOPTI_COMMUNE: 2}),
])
def test_the_level_defaults_to_the_one_below_the_place(session: Session, registry: None, place: str, level: int,
                                                       expected: dict[str, int]) -> None:
    b = board(session, "alice", place=place)
    assert b.place is not None and b.place.pcode == place.upper()
    assert b.level == level
    assert places(b) == expected
    assert all(p.pcode.startswith(place.upper()) and p.level == level for p in b.by_place)


def test_a_place_filter_changes_every_figure(session: Session, registry: None) -> None:
    b = board(session, "alice", place="ML090104")
    assert (b.totals.households, b.totals.people, b.totals.people_with_disability, b.totals.children) == (3, 8, 2, 4)
    assert [(p.pcode, p.name) for p in b.trail] == [
        ("ML", "Mali"), ("ML09", "Bamako"), ("ML0901", "Bamako"), ("ML090104", "Commune IV")]
    # The first household is recorded at the commune, above its quartiers.
    assert b.unplaced_households == 1
    assert {p.pcode for p in b.by_place} >= {HAMDALLAYE, LAFIABOUGOU, "ML090104001"}
    assert b.levels == (3, 4)
    mopti = board(session, "alice", place="ML05")
    assert (mopti.totals.households, mopti.totals.people, mopti.totals.children) == (2, 5, 2)
    assert {c.code: c.households for c in mopti.intentions.counts}["return"] == 1
    assert (mopti.overcrowding.households, mopti.overcrowding.recorded) == (1, 2)


def test_a_group_filter_changes_every_figure(session: Session, registry: None) -> None:
    b = board(session, "alice", group="host")
    assert (b.group, b.totals.households, b.totals.people, b.totals.female_headed) == ("host", 1, 3, 0)
    assert b.totals.female_headed_share == 0
    assert (b.totals.people_with_disability, b.totals.children) == (0, 2)
    assert places(b) == {"ML09": 1}
    assert [g.households for g in b.by_group if g.group != "host"] == [0, 0, 0, 0]
    assert b.intentions.displaced == 0
    both = board(session, "alice", place="ML05", group="idp")
    assert (both.totals.households, both.totals.people) == (1, 3)
    assert places(both) == {"ML0501": 1}


def test_an_explicit_level_rolls_households_up_by_p_code(session: Session, registry: None) -> None:
    communes = board(session, "alice", level=3)
    assert places(communes) == {"ML090104": 3, f.MOPTI_COMMUNE: 2}
    assert len(communes.by_place) == 27  # every commune of the gazetteer
    country = board(session, "alice", level=0)
    assert places(country) == {"ML": 5}
    quartiers = board(session, "alice", place="ML09", level=4)
    assert (places(quartiers), quartiers.unplaced_households) == ({HAMDALLAYE: 1, LAFIABOUGOU: 1}, 1)


def test_children_are_counted_as_of_the_day(session: Session, registry: None) -> None:
    alice = f.actor(session, "alice")
    before = dash.dashboard(session=session, actor=alice, group="host", today=date(2025, 5, 31))
    after = dash.dashboard(session=session, actor=alice, group="host", today=date(2025, 6, 1))
    assert (before.totals.children, after.totals.children) == (2, 1)
    alone = dash.people_figures(session=session, actor=alice, group="host", today=date(2025, 6, 1))
    assert (alone.with_disability, alone.children) == (0, 1)


@pytest.mark.parametrize("place", [None, "ML090104", "ML05", HAMDALLAYE])
def test_people_figures_alone_match_the_dashboard(session: Session, registry: None, place: str | None) -> None:
    # A small place's people are reached from its households, a large one's by reading the
    # people table: the same figures either way, alone or in the dashboard.
    alice = f.actor(session, "alice")
    alone = dash.people_figures(session=session, actor=alice, place=place, today=TODAY)
    totals = dash.dashboard(session=session, actor=alice, place=place, today=TODAY).totals
    assert (alone.with_disability, alone.children) == (totals.people_with_disability, totals.children)


def test_without_people_the_dashboard_leaves_their_figures_out(session: Session, registry: None) -> None:
    b = dash.dashboard(session=session, actor=f.actor(session, "alice"), include_people=False)
    assert b.totals.households == 5
    assert (b.totals.people_with_disability, b.totals.children) == (None, None)


def test_each_organisation_sees_only_what_it_may(session: Session, registry: None) -> None:
    # ONGB sees its own two households, not ONGA's: the agreement shares the other way.
    bob = board(session, "bob")
    assert (bob.totals.households, bob.totals.people) == (2, 5)
    assert places(bob) == {"ML05": 2}
    # ONGC has no agreement: zero everywhere, and no share of nothing.
    carol = board(session, "carol")
    t = carol.totals
    assert (t.households, t.people, t.female_headed, t.people_with_disability, t.children) == (0, 0, 0, 0, 0)
    assert t.female_headed_share is None and carol.overcrowding.share is None
    assert places(carol) == {} and len(carol.by_place) == 9
    assert all(g.households == 0 for g in carol.by_group)
    empty = board(session, "carol", place="ML05")
    assert (empty.totals.households, empty.level, len(empty.by_place)) == (0, 2, 8)  # Mopti's 8 cercles
    # A viewer of ONGA sees ONGA's figures; the system sees all six households.
    assert board(session, "vera").totals.households == 5
    assert dash.dashboard(session=session, actor=SYSTEM).totals.households == 6


def test_soft_deleted_households_leave_the_figures(session: Session, registry: None) -> None:
    from jatigi.registry import service as registry_service

    alice = f.actor(session, "alice")
    code = registry_service.search(session=session, actor=alice, pcode=HAMDALLAYE).hits[0].code
    registry_service.delete_household(session=session, actor=alice, code=code, reason="Duplicate")
    b = board(session, "alice")
    assert (b.totals.households, b.totals.people, b.totals.people_with_disability) == (4, 11, 2)


def test_bad_filters_are_refused_with_a_message(session: Session, registry: None) -> None:
    alice = f.actor(session, "alice")
    with pytest.raises(ValidationFailed, match="ML99"):
        dash.dashboard(session=session, actor=alice, place="ML99")
    with pytest.raises(ValidationFailed, match="idp, idp_returned"):
        dash.dashboard(session=session, actor=alice, group="refugee")
    with pytest.raises(ValidationFailed, match="1 to 4"):
        dash.dashboard(session=session, actor=alice, place="ML09", level=0)
    with pytest.raises(ValidationFailed):
        dash.map_features(session=session, actor=alice, level=7)


def test_it_needs_the_summary_permission_and_leaves_one_audit_event(session: Session, registry: None) -> None:
    nobody = Actor(user_id=None, username="nobody", org_id=None)
    with pytest.raises(Forbidden):
        dash.dashboard(session=session, actor=nobody)
    with pytest.raises(Forbidden):
        dash.map_features(session=session, actor=nobody)
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0
    board(session, "alice", place="ML09", group="idp")
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.id > before)).all()
    assert [(e.action, e.actor) for e in events] == [("dashboard.read", "alice")]
    assert events[0].detail == {"place": "ML09", "group": "idp", "level": 2, "people": True}
