"""The synthetic registry looks like the Mali of the field report, and is reproducible."""

from __future__ import annotations

import re
import statistics
import uuid
from collections import Counter
from datetime import date

import pytest

from jatigi.demo import names
from jatigi.demo.generator import (
    DS_CODE,
    all_pcodes,
    generate,
    household_uuid,
    registering_org,
)
from jatigi.places.service import gazetteer_rows
from jatigi.registry import vocab
from jatigi.registry.records import HouseholdRecord, PersonRecord

N = 3000
PHONE = re.compile(r"^(\+223|00223)? ?[67]\d( ?\d\d){3}$")


@pytest.fixture(scope="module")
def households() -> list[HouseholdRecord]:
    return list(generate(N, seed=2013))


def _age(p: PersonRecord, on: date) -> int:
    assert p.birth_date is not None
    b = p.birth_date
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _idps(households: list[HouseholdRecord]) -> list[HouseholdRecord]:
    return [h for h in households if h.population_group == "idp"]


def test_most_idp_households_are_headed_by_women(households: list[HouseholdRecord]) -> None:
    idps = _idps(households)
    female = sum(h.members[0].sex == "f" for h in idps) / len(idps)
    assert female > 0.5
    assert all(h.members[0].relationship == "head" for h in households)


def test_about_five_percent_of_idps_want_to_stay(households: list[HouseholdRecord]) -> None:
    idps = _idps(households)
    stay = sum(h.intention == "stay" for h in idps) / len(idps)
    assert 0.03 <= stay <= 0.08


def test_most_idps_rent_and_some_houses_hold_four_or_five_families(
        households: list[HouseholdRecord]) -> None:
    arrangements = Counter(h.living_arrangement for h in _idps(households))
    assert arrangements.most_common(1)[0][0] == "renting"
    assert arrangements["host_family_free"] and arrangements["host_family_paying"]
    crowded = [h for h in households if (h.households_in_dwelling or 0) >= 4]
    assert len(crowded) > N * 0.03
    rents = [h.monthly_rent_xof for h in households if h.living_arrangement == "renting"]
    assert min(rents) >= 15_000 and max(rents) <= 60_000  # type: ignore[type-var]
    assert any(h.rent_arrears_xof for h in households)


def test_population_groups_and_places(households: list[HouseholdRecord]) -> None:
    groups = Counter(h.population_group for h in households)
    assert 0.30 <= groups["host"] / N <= 0.40
    assert set(groups) == set(vocab.POPULATION_GROUPS)
    for h in households:
        if h.population_group == "idp_returned":
            assert h.current_pcode[:4] in ("ML06", "ML07")
            assert h.origin_pcode == h.current_pcode
        if h.population_group == "idp":
            assert h.origin_pcode[:4] in ("ML05", "ML06", "ML07", "ML08")  # type: ignore[index]
            assert h.current_pcode[:4] not in ("ML06", "ML07", "ML08")
    bamako = [h for h in _idps(households) if h.current_pcode.startswith("ML09")]
    assert bamako and all(len(h.current_pcode) == 11 for h in bamako)  # quartiers


def test_every_place_is_in_the_gazetteer(households: list[HouseholdRecord]) -> None:
    known = {r.pcode for r in gazetteer_rows()}
    assert all_pcodes() <= known
    used = set()
    for h in households:
        used.update({h.current_pcode, h.origin_pcode})
        used.update(p for m in h.movements for p in (m.from_pcode, m.to_pcode))
        used.update(r.last_known_pcode for r in h.relatives)
    assert used - {None} <= known


def test_returns_that_failed_are_recorded_as_movements(households: list[HouseholdRecord]) -> None:
    redisplaced = [h for h in _idps(households)
                   if [m.kind for m in h.movements] == ["displaced", "returned", "re_displaced"]]
    assert len(redisplaced) > 50
    for h in redisplaced:
        assert "LP-MD" in h.members[0].specific_needs
        assert h.movements[-1].to_pcode == h.current_pcode
    for h in households:
        days = [m.moved_on for m in h.movements]
        assert days == sorted(days)  # type: ignore[type-var]
        assert all(d is not None and d < h.registered_on for d in days)
        assert date(2013, 10, 1) <= h.registered_on <= date(2014, 3, 31)
        if h.population_group == "idp":
            assert date(2012, 1, 1) <= h.displacement_date <= date(2013, 12, 31)  # type: ignore[operator]


def test_households_average_six_people(households: list[HouseholdRecord]) -> None:
    sizes = [len(h.members) for h in households]
    assert 5 <= statistics.mean(sizes) <= 7
    assert min(sizes) >= 1 and max(sizes) <= 14
    assert all([m.line_no for m in h.members] == list(range(1, len(h.members) + 1))
               for h in households)


def test_child_heads_carry_sc_ch(households: list[HouseholdRecord]) -> None:
    child_heads = [h for h in households if _age(h.members[0], h.registered_on) < vocab.ADULT_AGE]
    assert child_heads
    assert all("SC-CH" in h.members[0].specific_needs for h in child_heads)


def test_specific_needs_match_answers(households: list[HouseholdRecord]) -> None:
    people = [p for h in households for p in h.members]
    asked = [p for p in people if p.wg]
    disabled = [p for p in asked if any((v or 0) >= 3 for v in p.wg.values())]
    assert 0.05 <= len(disabled) / len(asked) <= 0.15
    for p in disabled:
        for domain, level in p.wg.items():
            if (level or 0) >= 3:
                assert DS_CODE[domain] in p.specific_needs
    for p in people:
        assert set(p.specific_needs) <= set(vocab.SPECIFIC_NEEDS)
        assert set(p.documents) <= set(vocab.DOCUMENTS)
        if p.documents == ["none"]:
            assert "LP-ND" in p.specific_needs
    codes = Counter(c for p in people for c in p.specific_needs)
    for code in ("WR-SF", "SP-PT", "ER-NF", "SM-CI", "LP-ND", "FU-TR", "DS-BD", "DS-PM"):
        assert codes[code], code
    assert 0 < sum(n for c, n in codes.items() if c.startswith("SV")) < len(people) * 0.01


def test_school_age_children_have_attendance(households: list[HouseholdRecord]) -> None:
    for h in households[:500]:
        for p in h.members:
            age = _age(p, h.registered_on)
            if 6 <= age <= 17:
                assert p.school_attendance in ("yes", "no")
            if age < 5:
                assert not p.wg


def test_separated_relatives_and_consents(households: list[HouseholdRecord]) -> None:
    with_relatives = [h for h in households if h.relatives]
    assert 0.05 <= len(with_relatives) / N <= 0.11
    assert all(any("FU-TR" in p.specific_needs for p in h.members) for h in with_relatives)
    for h in households:
        consent = {c.purpose: c.given for c in h.consents}
        assert consent["registration"] is True
        assert set(consent) <= set(vocab.CONSENT_PURPOSES)
    shared = sum(c.given for h in households for c in h.consents if c.purpose == "data_sharing")
    assert shared > 0.8 * N


def test_phones_dates_of_birth_and_enumerators(households: list[HouseholdRecord]) -> None:
    phones = [h.phone for h in households if h.phone]
    assert len(phones) > 0.7 * N
    assert all(PHONE.match(p) for p in phones), [p for p in phones if not PHONE.match(p)][:5]
    assert {p[:4] for p in phones} & {"+223", "0022"} and any(" " in p for p in phones)
    people = [p for h in households for p in h.members]
    exact = sum(not p.age_estimated for p in people) / len(people)
    assert 0.5 <= exact <= 0.7
    estimated = [p for p in people if p.age_estimated]
    assert all(p.birth_date is not None and (p.birth_date.month, p.birth_date.day) == (1, 1)
               for p in estimated)
    assert all(h.enumerator for h in households)
    assert len({h.enumerator for h in households}) > 20


def test_names_are_malian_with_some_spelling_variants(households: list[HouseholdRecord]) -> None:
    people = [p for h in households for p in h.members]
    family = Counter(p.family_name for p in people)
    for name in ("Traoré", "Diarra", "Maïga", "Diallo", "Coulibaly", "Touré"):
        assert family[name], name
    assert any(n.startswith(("Ag ", "Walet ")) for n in family)
    assert any(n.startswith(("Ould ", "Mint ")) for n in family)
    variants = {v for vs in names.VARIANTS.values() for v in vs} - set(names.VARIANTS)
    seen = {p.family_name for p in people} | {p.given_name for p in people}
    assert len(seen & variants) >= 20
    # Variants are the exception: the canonical spelling dominates.
    assert family["Traoré"] > 5 * (family["Traore"] + family["Taore"] + family["Traorè"])


def test_same_seed_same_registry_and_slices_continue() -> None:
    first = list(generate(40, seed=7))
    assert first == list(generate(40, seed=7))
    assert first != list(generate(40, seed=8))
    assert list(generate(15, seed=7, start_uuid=25)) == first[25:]
    uuids = [h.source_uuid for h in first]
    assert len(set(uuids)) == 40
    assert all(uuid.UUID(u).version == 4 for u in uuids)  # type: ignore[arg-type]
    assert household_uuid(7, 30) == uuids[30]


def test_households_are_split_across_registering_organisations(
        households: list[HouseholdRecord]) -> None:
    orgs = Counter(registering_org(h) for h in households)
    assert {"UNHCR", "AMSS", "NRC", "DRC", "IOM"} <= set(orgs)
    assert orgs.most_common(1)[0][0] == "UNHCR"
    assert registering_org(households[0]) == registering_org(households[0])
