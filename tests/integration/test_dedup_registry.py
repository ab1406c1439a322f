"""The registry's review queue: runs that find duplicates, who sees which pair, decisions, merges
and unmerges, the check at import, and the commands."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jatigi.accounts import service as accounts
from jatigi.accounts.models import Organisation
from jatigi.cli import dedup_registry
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.core.errors import ValidationFailed
from jatigi.dedup import runs, service
from jatigi.dedup.models import CandidatePair, Decision, DedupRun, HouseholdPair, IdentityLink, LinkageModel
from jatigi.demo import duplicates, generator, kobo_export
from jatigi.registry import service as registry_service
from jatigi.registry.importer import ImportOptions, import_files
from jatigi.registry.models import Household, Person
from jatigi.registry.records import PersonRecord
from jatigi.registry.service import snapshot
from jatigi.registry.writer import write_households
from jatigi.web.app import create_app
from tests import factories as f
from tests.dedup_data import head_of, plant
from tests.web import login

# ---- a small registry of three organisations, with pairs as a run stores them ------------------------


@dataclass
class Registry:
    codes: dict[str, str]  # name -> household code
    people: dict[str, int]  # "a1", "b1", "c1", "a2": the heads' person ids
    pairs: dict[str, int]  # "ab", "ac", "a2b": pair ids


@pytest.fixture
def registry(engine: sa.Engine) -> Registry:
    """ONGB shares with ONGA (with the households' consent); ONGC shares with nobody."""
    with session_scope(engine) as s:
        f.places(s)
        for acr in ("ONGA", "ONGB", "ONGC"):
            f.org(s, acr)
        f.user(s, "rev_a", "ONGA", "im_officer")
        f.user(s, "rev_c", "ONGC", "im_officer")
        f.user(s, "enum_a", "ONGA", "registration_officer")
        f.user(s, "boss", "ONGA", "admin")
        f.user(s, "reg_b", "ONGB", "registration_officer")
        f.user(s, "reg_c", "ONGC", "registration_officer")
        accounts.create_agreement(session=s, actor=SYSTEM, provider="ONGB", recipient="ONGA",
                                  purpose="Duplicates", signed_on=date(2013, 9, 16))
        codes = {
            "a1": f.household(s, f.actor(s, "enum_a")),
            "b1": f.household(s, f.actor(s, "reg_b"), phone=None, members=[
                PersonRecord(1, "Aminata", "MAIGA", "f", "head", date(1985, 1, 1), age_estimated=True),
                PersonRecord(2, "Mousa", "Maiga", "m", "child", date(2015, 6, 10))]),
            "c1": f.household(s, f.actor(s, "reg_c"), members=[
                PersonRecord(1, "Aminata", "Maïga", "f", "head", date(1985, 3, 1))]),
            "a2": f.household(s, f.actor(s, "enum_a"), members=[
                PersonRecord(1, "Amina", "Maïga", "f", "head", date(1986, 3, 1))]),
        }
        heads = {name: head_of(s, code) for name, code in codes.items()}
        mousa = s.scalar(sa.select(Person.id).where(Person.given_name == "Mousa"))
        moussa = s.scalar(sa.select(Person.id).where(Person.given_name == "Moussa"))
        ab, ac, a2b, kids = plant(s, [(heads["a1"], heads["b1"], 0.97), (heads["a1"], heads["c1"], 0.9),
                                      (heads["a2"], heads["b1"], 0.6), (moussa, mousa, 0.8)])
    return Registry(codes, heads, {"ab": ab, "ac": ac, "a2b": a2b, "kids": kids})


def _actor(engine: sa.Engine, username: str) -> Any:
    with session_scope(engine) as s:
        return f.actor(s, username)


# ---- who sees which pair -------------------------------------------------------------------------------


def test_a_reviewer_sees_only_pairs_of_households_they_may_both_see(engine: sa.Engine, registry: Registry) -> None:
    ids = registry.pairs
    with session_scope(engine) as s:
        seen_a = {r.id for r in service.queue(session=s, actor=f.actor(s, "rev_a")).rows}
        seen_c = {r.id for r in service.queue(session=s, actor=f.actor(s, "rev_c")).rows}
        seen_admin = {r.id for r in service.queue(session=s, actor=f.actor(s, "boss")).rows}
        households_a = service.household_queue(session=s, actor=f.actor(s, "rev_a")).rows
    # ONGA sees its own households and ONGB's (shared, with consent), never ONGC's.
    assert seen_a == {ids["ab"], ids["a2b"], ids["kids"]}
    assert seen_c == set()  # ONGC sees no ONGA household
    assert seen_admin == set(ids.values())
    # The two households whose heads and children are pairs are one household pair.
    by_codes = {frozenset((h.a.code, h.b.code)): h for h in households_a}
    both = by_codes[frozenset((registry.codes["a1"], registry.codes["b1"]))]
    assert set(both.reasons) >= {"heads", "members"} and both.people_pairs == 2
    assert frozenset((registry.codes["a1"], registry.codes["c1"])) not in by_codes

    with TestClient(create_app()) as client:
        login(client, "rev_c")
        assert client.get(f"/dedup/pairs/{ids['ac']}").status_code == 404
    with TestClient(create_app()) as client:
        login(client, "rev_a")
        page = client.get("/dedup")
        assert "Aminata MAIGA" in page.text and "Possible duplicates" in page.text
        assert client.get(f"/dedup/pairs/{ids['ac']}").status_code == 404
        assert client.get(f"/dedup/pairs/{ids['ab']}").status_code == 200


def test_the_queue_filters_by_status_kind_band_and_organisation(engine: sa.Engine, registry: Registry) -> None:
    with TestClient(create_app()) as client:
        login(client, "boss")
        probable = client.get("/dedup?band=probable")
        assert f"/dedup/pairs/{registry.pairs['ab']}\"" in probable.text
        assert f"/dedup/pairs/{registry.pairs['ac']}\"" not in probable.text
        by_org = client.get("/dedup?org=ONGC")
        assert f"/dedup/pairs/{registry.pairs['ac']}\"" in by_org.text
        assert f"/dedup/pairs/{registry.pairs['ab']}\"" not in by_org.text
        assert "No pair found." in client.get("/dedup?kind=import").text
        wrong = client.get("/dedup?status=maybe")
        assert wrong.status_code == 200 and "Unknown choice" in wrong.text
        households = client.get("/dedup?view=households")
        assert registry.codes["a1"] in households.text and "the heads are a pair" in households.text


# ---- a pair side by side, decisions and their trail ------------------------------------------------------


def test_a_pair_shows_both_records_and_the_weight_of_each_field(engine: sa.Engine, registry: Registry) -> None:
    pair_id = registry.pairs["ab"]
    with TestClient(create_app()) as client:
        login(client, "rev_a")
        page = client.get(f"/dedup/pairs/{pair_id}")
    text = page.text
    assert page.status_code == 200
    assert "Aminata" in text and "MAIGA" in text and "Maïga" in text
    assert registry.codes["a1"] in text and registry.codes["b1"] in text
    assert "same root (related names)" in text and "+6.5" in text and "-2.4" in text
    assert 'class="dd-bar dd-bar-pos dd-w-8"' in text  # family name: 8 of 8 bits, the largest
    assert "style=" not in text and "<script>" not in text
    # ONGA's reviewer may open ONGA's phone (with consent to contact), not ONGB's.
    assert "+223 66 55 44 33" in text
    assert "only the organisation that registered the household may open it" in text or "None recorded" in text


def test_every_view_and_decision_is_audited_and_kept_in_the_history(engine: sa.Engine, registry: Registry) -> None:
    pair_id = registry.pairs["ab"]
    with TestClient(create_app()) as client:
        csrf = login(client, "rev_a")
        client.get(f"/dedup/pairs/{pair_id}")
        resp = client.post(f"/dedup/pairs/{pair_id}/decide",
                           data={"csrf_token": csrf, "decision": "confirm", "note": "Same mother, same phone"},
                           follow_redirects=False)
        assert resp.status_code == 303
        page = client.get(resp.headers["location"])
        assert "Decision recorded" in page.text and "Same mother, same phone" in page.text
        assert "Confirmed" in page.text
        # Without the form's token nothing is decided.
        refused = client.post(f"/dedup/pairs/{pair_id}/decide", data={"decision": "reject"})
        assert refused.status_code == 403
    with session_scope(engine) as s:
        events = s.execute(sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.actor, AuditEvent.detail)
                           .order_by(AuditEvent.id)).all()
        actions = [e.action for e in events]
        assert actions.count("dedup.pair.read") == 2  # before and after the decision
        confirm = [e for e in events if e.action == "dedup.pair.confirm"]
        assert len(confirm) == 1 and confirm[0].entity_id == str(pair_id) and confirm[0].actor == "rev_a"
        assert confirm[0].detail["note"] == "Same mother, same phone"
        assert confirm[0].detail["households"] == [registry.codes["a1"], registry.codes["b1"]]
        reads = [e for e in events if e.action == "household.read" and (e.detail or {}).get("via") == "dedup_pair"]
        assert {e.entity_id for e in reads} == {registry.codes["a1"], registry.codes["b1"]}
        assert s.scalar(sa.select(sa.func.count()).select_from(Decision)) == 1
        assert s.get(CandidatePair, pair_id).status == "confirmed"


def test_a_refused_decision_says_why_and_writes_nothing(engine: sa.Engine, registry: Registry) -> None:
    pair_id = registry.pairs["ab"]
    with TestClient(create_app()) as client:
        csrf = login(client, "rev_a")
        resp = client.post(f"/dedup/pairs/{pair_id}/decide", data={"csrf_token": csrf, "decision": "unmerge"})
        assert resp.status_code == 422 and "cannot be given this decision" in resp.text
        resp = client.post(f"/dedup/pairs/{pair_id}/decide", data={"csrf_token": csrf, "decision": "maybe"})
        assert resp.status_code == 422 and "Choose a decision" in resp.text
    with TestClient(create_app()) as client:
        # A registration officer may not review.
        login(client, "enum_a")
        assert client.get("/dedup").status_code == 403
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
        assert s.get(CandidatePair, pair_id).status == "pending"


# ---- merge and unmerge -------------------------------------------------------------------------------


def _state(session: Any) -> dict[str, Any]:
    """Everything a merge could touch: people and households as stored, and who is linked to whom."""
    return {
        "people": sorted((snapshot(p) for p in session.scalars(sa.select(Person))), key=lambda r: r["id"]),
        "households": sorted((snapshot(h) for h in session.scalars(sa.select(Household))), key=lambda r: r["id"]),
        "identities": service.identities(session),
    }


def test_merge_then_unmerge_restores_exactly_and_deletes_nothing(engine: sa.Engine, registry: Registry) -> None:
    ids, people = registry.pairs, registry.people
    boss = _actor(engine, "boss")
    with session_scope(engine) as s:
        before = _state(s)
    with session_scope(engine) as s:
        service.decide(session=s, actor=boss, pair_id=ids["ab"], action="merge", note="One woman")
    with session_scope(engine) as s:
        linked = service.identities(s)
        assert linked[people["a1"]] == linked[people["b1"]]
        assert service.linked_records(s, people["a1"]) == [people["b1"]]
        # A second merge joins a third record to the same person.
        service.decide(session=s, actor=boss, pair_id=ids["ac"], action="merge")
    with session_scope(engine) as s:
        assert sorted(service.linked_records(s, people["b1"])) == sorted([people["a1"], people["c1"]])
        # The first merge is undone only after the one that built on it.
        with pytest.raises(Exception, match=f"unmerge pairs {ids['ac']} first"):
            with s.begin_nested():
                service.decide(session=s, actor=boss, pair_id=ids["ab"], action="unmerge")
    with session_scope(engine) as s:
        service.decide(session=s, actor=boss, pair_id=ids["ac"], action="unmerge")
        service.decide(session=s, actor=boss, pair_id=ids["ab"], action="unmerge", note="Two sisters")
    with session_scope(engine) as s:
        after = _state(s)
        assert after == before
        assert s.get(CandidatePair, ids["ab"]).status == "unmerged"
        # Nothing deleted: every link made is kept, ended.
        links = s.scalars(sa.select(IdentityLink)).all()
        assert links and all(link.ended_at is not None for link in links)
        history = [d.action for d in s.scalars(sa.select(Decision).where(Decision.pair_id == ids["ab"])
                                              .order_by(Decision.id))]
        assert history == ["merge", "unmerge"]


def test_merging_two_merged_groups_and_undoing_it(engine: sa.Engine, registry: Registry) -> None:
    """a2-b1 merged, a1-c1 merged, then a1-b1 joins both groups; its unmerge splits them again."""
    ids, people = registry.pairs, registry.people
    boss = _actor(engine, "boss")
    with session_scope(engine) as s:
        extra = plant(s, [(people["a1"], people["a2"], 0.7)])[0]
    with session_scope(engine) as s:
        service.decide(session=s, actor=boss, pair_id=ids["a2b"], action="merge")
        service.decide(session=s, actor=boss, pair_id=ids["ac"], action="merge")
        before = service.identities(s)
        service.decide(session=s, actor=boss, pair_id=extra, action="merge")
        merged = service.identities(s)
        assert len({merged[p] for p in (people["a1"], people["a2"], people["b1"], people["c1"])}) == 1
        service.decide(session=s, actor=boss, pair_id=extra, action="unmerge")
        assert service.identities(s) == before


# ---- the household page and enrolment ---------------------------------------------------------------------


def test_the_household_page_links_to_its_possible_duplicates(engine: sa.Engine, registry: Registry) -> None:
    with session_scope(engine) as s:
        hid = s.scalar(sa.select(Household.id).where(Household.code == registry.codes["a1"]))
        assert service.possible_duplicate(s, hid)
        assert registry_service.possible_duplicate(session=s, household_id=hid)  # as a programme asks
    with TestClient(create_app()) as client:
        login(client, "rev_a")
        page = client.get(f"/households/{registry.codes['a1']}")
        assert f"/dedup/pairs/{registry.pairs['ab']}" in page.text
        assert f"Possible duplicate of {registry.codes['b1']}" in page.text
        # ONGC's household is not shown to ONGA: the pair is said to exist, without a link.
        assert "a household you may not see" in page.text
    with TestClient(create_app()) as client:
        login(client, "enum_a")
        page = client.get(f"/households/{registry.codes['a1']}")
        assert "Possible duplicate of" in page.text and "/dedup/pairs/" not in page.text
    with session_scope(engine) as s:
        for pair_id in registry.pairs.values():
            service.decide(session=s, actor=f.actor(s, "boss"), pair_id=pair_id, action="reject")
    with session_scope(engine) as s:
        assert not registry_service.possible_duplicate(session=s, household_id=hid)


# ---- the API ----------------------------------------------------------------------------------------------


def test_the_api_lists_shows_and_decides(engine: sa.Engine, registry: Registry) -> None:
    with session_scope(engine) as s:
        token = f.token(s, "rev_a")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app()) as client:
        page = client.get("/api/v1/dedup/pairs", headers=headers).json()
        assert page["total"] == 3 and {p["id"] for p in page["items"]} == {registry.pairs[k] for k in
                                                                            ("ab", "a2b", "kids")}
        pair = client.get(f"/api/v1/dedup/pairs/{registry.pairs['ab']}", headers=headers).json()
        assert pair["a"]["given_name"] == "Aminata" and pair["b"]["family_name"] == "MAIGA"
        assert {"field": "given_name", "level": "same root (related names)", "weight": 6.5} in pair["explanation"]
        assert pair["allowed_decisions"] == ["confirm", "reject", "merge"]
        done = client.post(f"/api/v1/dedup/pairs/{registry.pairs['ab']}/decision", headers=headers,
                           json={"decision": "merge", "note": "same person"})
        assert done.status_code == 200 and done.json()["status"] == "merged"
        assert done.json()["a"]["merged_with"] == [registry.people["b1"]]
        wrong = client.post(f"/api/v1/dedup/pairs/{registry.pairs['ab']}/decision", headers=headers,
                            json={"decision": "confirm"})
        assert wrong.status_code == 422 and "cannot be given this decision" in wrong.json()["detail"]
        assert client.get(f"/api/v1/dedup/pairs/{registry.pairs['ac']}", headers=headers).status_code == 404
        assert client.get("/api/v1/dedup/runs", headers=headers).json()[0]["kind"] == "registry"


# ---- the commands -----------------------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(dedup_registry.app, list(args), env={"COLUMNS": "200"})
    return result


def test_the_commands_list_show_and_decide(engine: sa.Engine, registry: Registry) -> None:
    listed = _cli("queue", "--as", "rev_a")
    assert listed.exit_code == 0, listed.output
    assert "3 of 3 pairs shown." in listed.output and "Aminata" in listed.output
    shown = _cli("show", str(registry.pairs["ab"]), "--as", "rev_a")
    assert shown.exit_code == 0 and "same root (related names)" in shown.output and "+6.5" in shown.output
    decided = _cli("decide", str(registry.pairs["ab"]), "reject", "--note", "two women", "--as", "rev_a")
    assert decided.exit_code == 0 and "is now rejected" in decided.output
    refused = _cli("decide", str(registry.pairs["ac"]), "reject", "--as", "rev_a")
    assert refused.exit_code == 1 and "No pair" in refused.output
    assert _cli("queue", "--status", "rejected", "--as", "rev_a").output.count("Aminata") == 2


# ---- runs over a registry with planted duplicates (the linkage engine at work) --------------------------


HOUSEHOLDS = 150  # the engine needs some hundreds of people to train every comparison


@dataclass
class Planted:
    copies: dict[str, str]  # code of a household registered again -> code of the first registration
    households: int


@pytest.fixture
def planted(engine: sa.Engine) -> Planted:
    """Demo households of six organisations, a quarter of them registered again by another."""
    with session_scope(engine) as s:
        f.places(s)
        for acr in generator.REGISTERING_ORGS:
            f.org(s, acr)
        f.user(s, "boss", "UNHCR", "admin")
        f.user(s, "im", "UNHCR", "im_officer")
        f.user(s, "enum_drc", "DRC", "registration_officer")
        orgs = dict(s.execute(sa.select(Organisation.acronym, Organisation.id)).all())
        records = list(duplicates.with_duplicates(generator.generate(HOUSEHOLDS, seed=11), seed=11, rate=0.25))
        for acr in generator.REGISTERING_ORGS:
            write_households(session=s, actor=SYSTEM, org_id=orgs[acr], records=[r for r, o in records if o == acr])
        codes = dict(s.execute(sa.select(Household.source_uuid, Household.code)).all())
    copies = {codes[duplicates.copy_uuid(uuid)]: code for uuid, code in codes.items()
              if duplicates.copy_uuid(uuid) in codes}
    assert len(copies) >= 10
    return Planted(copies, len(records))


def _pairs(session: Any) -> dict[tuple[int, int], CandidatePair]:
    return {(p.person_a_id, p.person_b_id): p for p in session.scalars(sa.select(CandidatePair))}


def test_a_run_finds_the_planted_duplicates_and_fills_the_queue(engine: sa.Engine, planted: Planted) -> None:
    summary = runs.run_registry(actor=_actor(engine, "boss"), engine=engine)
    assert summary.trained and summary.model_version == 1 and summary.pairs.new == summary.pairs.found > 0
    with session_scope(engine) as s:
        pairs = _pairs(s)
        found = [(head_of(s, copy), head_of(s, first)) for copy, first in planted.copies.items()]
        hits = [key for key in found if (min(key), max(key)) in pairs]
        # Most heads registered twice are in the queue, each with the weight of every field.
        assert len(hits) >= 0.8 * len(found), (len(hits), len(found))
        sample = pairs[(min(hits[0]), max(hits[0]))]
        assert sample.status == "pending" and sample.kind == "registry"
        assert {x["field"] for x in sample.fields} >= {"prior", "given_name", "family_name", "birth"}
        assert s.scalar(sa.select(sa.func.count()).select_from(HouseholdPair)) >= 0.7 * len(found)
        run = s.get(DedupRun, summary.run_id)
        assert run.status == "done" and run.counts["pairs"] == len(pairs)
        model = s.scalar(sa.select(LinkageModel).where(LinkageModel.active.is_(True)))
        assert model.version == 1 and model.training_size == summary.people and model.trained_by_name == "boss"
        # Pairs keep no names, phones or dates: the values are read from the records when shown.
        assert "Maïga" not in json.dumps([p.fields for p in pairs.values()], ensure_ascii=False)


def test_a_second_run_neither_repeats_pending_pairs_nor_brings_back_decided_ones(engine: sa.Engine,
                                                                                 planted: Planted) -> None:
    boss = _actor(engine, "boss")
    first = runs.run_registry(actor=boss, engine=engine)
    with session_scope(engine) as s:
        ids = sorted(p.id for p in _pairs(s).values())
        service.decide(session=s, actor=boss, pair_id=ids[0], action="reject", note="two people")
        service.decide(session=s, actor=boss, pair_id=ids[1], action="merge")
    second = runs.run_registry(actor=boss, engine=engine)
    assert not second.trained and second.model_version == 1
    assert second.pairs.new == 0 and second.pairs.kept == 2
    assert second.pairs.updated == first.pairs.found - 2
    with session_scope(engine) as s:
        pairs = {p.id: p for p in _pairs(s).values()}
        assert sorted(pairs) == ids
        assert pairs[ids[0]].status == "rejected" and pairs[ids[1]].status == "merged"


def test_decisions_fed_back_change_the_model(engine: sa.Engine, planted: Planted) -> None:
    boss = _actor(engine, "boss")
    runs.run_registry(actor=boss, engine=engine)
    with session_scope(engine) as s:
        queue = service.queue(session=s, actor=boss, limit=8).rows
        for row in queue:
            service.decide(session=s, actor=boss, pair_id=row.id, action="confirm")
    reused = runs.run_registry(actor=boss, engine=engine)
    assert reused.new_labels == len(queue)  # said, not yet learnt
    retrained = runs.run_registry(actor=boss, engine=engine, options=runs.RunOptions(retrain=True))
    assert retrained.trained and retrained.model_version == 2 and retrained.labels == len(queue)
    with session_scope(engine) as s:
        models = {m.version: json.loads(m.document) for m in s.scalars(sa.select(LinkageModel))}
        assert [m.active for m in s.scalars(sa.select(LinkageModel).order_by(LinkageModel.version))] == [False, True]

    def m_values(doc: dict[str, Any]) -> list[Any]:
        return [lv.get("m") for c in doc["comparisons"] for lv in c["levels"]]

    assert m_values(models[1]) != m_values(models[2])
    assert models[2]["training"]["labelled_pairs"] == len(queue)


def test_a_model_of_earlier_settings_is_refused_until_retrained(engine: sa.Engine, planted: Planted) -> None:
    boss = _actor(engine, "boss")
    runs.run_registry(actor=boss, engine=engine)
    with session_scope(engine) as s:
        model = s.scalar(sa.select(LinkageModel).where(LinkageModel.active.is_(True)))
        doc = json.loads(model.document)
        doc["settings"]["version"] = 2  # saved by an earlier Jatigi
        model.document = json.dumps(doc)

    with pytest.raises(ValidationFailed, match="version 2.*Run again with --retrain"):
        runs.run_registry(actor=boss, engine=engine)
    retrained = runs.run_registry(actor=boss, engine=engine, options=runs.RunOptions(retrain=True))

    assert retrained.trained and retrained.model_version == 2 and retrained.pairs.found > 0


def test_an_import_is_checked_against_the_registry(engine: sa.Engine, planted: Planted, tmp_path: Path) -> None:
    boss = _actor(engine, "boss")
    originals = list(generator.generate(3, seed=11))
    rng = random.Random(5)
    again = [duplicates.registered_again(rng, r) for r in originals]
    export = kobo_export.export_households(again, tmp_path / "kobo")

    # No model yet: the import says so, and nothing is flagged.
    with session_scope(engine) as s:
        result = import_files(session=s, actor=f.actor(s, "im"), paths=export.files, options=ImportOptions())
    assert result.households_written == 3 and result.duplicates is not None
    assert result.duplicates.status == "no_model" and "no linkage model is trained yet" in result.duplicates.message

    runs.run_registry(actor=boss, engine=engine)
    again = [duplicates.registered_again(rng, r) for r in originals]
    export = kobo_export.export_households(again, tmp_path / "kobo2")
    with session_scope(engine) as s:
        result = import_files(session=s, actor=f.actor(s, "enum_drc"), paths=export.files,
                              options=ImportOptions())
        check = result.duplicates
        assert check is not None and check.status == "checked", check
        assert check.households == 3 and check.pairs >= 3
        new = list(s.scalars(sa.select(Household.id).where(Household.import_batch_id == result.batch_id)))
        assert service.possible_duplicates(s, new) == set(new)
        kinds = set(s.scalars(sa.select(CandidatePair.kind).where(
            CandidatePair.household_a_id.in_(new) | CandidatePair.household_b_id.in_(new))))
        assert kinds == {"import"}
    assert "3 households flagged as possible duplicates" in check.message


def test_the_run_command_reports_what_it_did(engine: sa.Engine, planted: Planted) -> None:
    result = _cli("run", "--as", "boss")
    assert result.exit_code == 0, result.output
    assert "Model version 1 trained on" in result.output and "new pairs" in result.output
    again = _cli("run", "--review-from", "0.99", "--link-from", "0.5", "--as", "boss")
    assert again.exit_code == 1 and "above the link threshold" in again.output
    refused = _cli("run", "--as", "im_nobody")
    assert refused.exit_code == 1 and "No user im_nobody" in refused.output


def test_a_member_removed_from_a_household_leaves_the_queue(engine: sa.Engine, registry: Registry) -> None:
    from jatigi.core.db import utcnow

    kids = registry.pairs["kids"]
    with session_scope(engine) as s:
        pair = s.get(CandidatePair, kids)
        assert pair is not None
        household = pair.household_a_id
        assert household in service.possible_duplicates(s, [household])
        s.execute(sa.update(Person).where(Person.id == pair.person_a_id).values(deleted_at=utcnow()))
    with session_scope(engine) as s:
        assert kids not in {r.id for r in service.queue(session=s, actor=f.actor(s, "rev_a")).rows}
        assert kids not in {r.id for r in service.queue(session=s, actor=f.actor(s, "boss")).rows}
    with TestClient(create_app()) as client:
        login(client, "rev_a")
        assert client.get(f"/dedup/pairs/{kids}").status_code == 404
