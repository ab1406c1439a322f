"""The linkage engine on generated lists: training, saved models, blocking on common names, explaining."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from jatigi.dedup.backends import EngineOptions, EngineUnavailable, with_memory
from jatigi.dedup.blocking import BlockingRule, Caps, NamesAloneError
from jatigi.dedup.engine import Linkage, LinkageError
from jatigi.dedup.model import Model, ModelError
from jatigi.dedup.names import fold
from jatigi.dedup.prepare import prepare_people
from jatigi.demo.linkage_data import REFERENCE_DAY, LinkageRecord, people_lists, true_pairs

SIZE = 2000


def _table(records: list[LinkageRecord] | list[dict[str, object]]) -> pa.Table:
    rows = [r.__dict__ if isinstance(r, LinkageRecord) else r for r in records]
    return prepare_people(rows, id_column="record_id", reference=REFERENCE_DAY).to_arrow()


@pytest.fixture(scope="module")
def generated() -> tuple[list[LinkageRecord], pa.Table]:
    records = list(people_lists(SIZE, 0.25, seed=11))
    return records, _table(records)


@pytest.fixture(scope="module")
def trained(generated: tuple[list[LinkageRecord], pa.Table]) -> Iterator[tuple[Linkage, Model]]:
    with Linkage(generated[1]) as linkage:
        yield linkage, linkage.train(seed=3)


def _pairs(table: pa.Table) -> dict[tuple[str, str], float]:
    return {(a, b): p for a, b, p in zip(table.column("id_a").to_pylist(), table.column("id_b").to_pylist(),
                                         table.column("match_probability").to_pylist(), strict=True)}


def test_a_model_trained_on_the_list_finds_its_planted_duplicates(
        generated: tuple[list[LinkageRecord], pa.Table], trained: tuple[Linkage, Model]) -> None:
    records, _ = generated
    linkage, model = trained

    found = _pairs(linkage.predict(model, threshold=0.9).pairs())

    truth = true_pairs(records)
    hits = len(set(found) & truth)
    assert hits / len(found) > 0.9  # precision
    assert hits / len(truth) > 0.8  # recall
    assert model.fields == ("given_name", "family_name", "birth", "sex", "phone", "place", "address", "household")
    assert 0 < model.prior < 0.01
    assert model.training["records"] == SIZE
    assert model.training["em_rules"], "trained by expectation maximisation"
    given = {lv.label: lv for lv in model.comparisons[0].levels}
    assert given["same name"].m > 0.5 > given["same name"].u  # type: ignore[operator]
    assert given["different"].m < 0.05  # type: ignore[operator]


def test_training_is_repeatable_with_the_same_seed(generated: tuple[list[LinkageRecord], pa.Table],
                                                   trained: tuple[Linkage, Model]) -> None:
    with Linkage(generated[1]) as again:
        second = again.train(seed=3)
    first = trained[1]
    assert [lv.u for c in second.comparisons for lv in c.levels] == [lv.u for c in first.comparisons for lv in c.levels]
    assert second.prior == first.prior


def test_fields_absent_from_the_list_are_left_out_of_the_model() -> None:
    records = [{k: v for k, v in r.__dict__.items() if k not in ("phone", "place", "address", "household")}
               for r in people_lists(600, 0.25, seed=5)]
    with Linkage(_table(records)) as linkage:
        model = linkage.train()
        pairs = linkage.predict(model, threshold=0.9).pairs()
        plans = {p.original.name: p for p in linkage.plan()}
    assert model.fields == ("given_name", "family_name", "birth", "sex")
    assert pairs.num_rows > 50
    assert plans["phone"].rule is None and plans["phone"].missing == ("phone",)
    # Every comparison is trained by EM, even when the first rules the list has data for all block
    # on the birth date: the same birth date weighs for a match, a different one against.
    assert any(not {"birth_date", "birth_year"} & set(rule) for rule in model.training["em_rules"])
    birth = {lv.label: lv for lv in model.comparisons[2].levels}
    assert birth["same day"].m > 10 * birth["same day"].u  # type: ignore[operator]
    assert birth["different"].m < birth["different"].u  # type: ignore[operator]


def test_a_saved_model_reloads_and_scores_exactly_the_same(tmp_path: Path, generated: tuple[list[LinkageRecord],
                                                           pa.Table], trained: tuple[Linkage, Model]) -> None:
    linkage, model = trained
    before = _pairs(linkage.predict(model, threshold=0.5).pairs())
    path = tmp_path / "model.json"

    model.save(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    with Linkage(generated[1]) as fresh:
        after = _pairs(fresh.predict(Model.load(path), threshold=0.5).pairs())

    assert after.keys() == before.keys()
    assert max(abs(after[k] - before[k]) for k in before) < 1e-12
    assert doc["format"] == "jatigi-linkage-model" and doc["format_version"] == 1
    assert doc["settings"] == {"name": "jatigi-people", "version": 3, "fields": list(model.fields)}
    assert doc["training"]["records"] == SIZE and doc["splink_version"].startswith("5.")
    assert doc["trained_on"] == "duckdb" and doc["trained_at"]
    level = doc["comparisons"][0]["levels"][1]
    assert level["label"] == "same name" and 0 < level["m"] <= 1 and 0 < level["u"] <= 1


def test_a_model_that_does_not_fit_is_refused_with_a_reason(tmp_path: Path, trained: tuple[Linkage, Model]) -> None:
    doc = trained[1].to_dict()
    path = tmp_path / "model.json"
    for change, reason in (
        (lambda d: d.update(format="splink"), "not a Jatigi linkage model"),
        (lambda d: d.update(format_version=9), "format version 9"),
        (lambda d: d["settings"].update(version=99), "Train a new model"),
        (lambda d: d["comparisons"][0]["levels"][1].update(label="same surname"), "given_name does not match"),
        (lambda d: d.pop("probability_two_random_records_match"), "incomplete or damaged"),
    ):
        broken = json.loads(json.dumps(doc))
        change(broken)
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(ModelError, match=reason):
            Model.load(path).settings_for("duckdb")
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not a JSON file"):
        Model.load(path)


def _common_names(n: int) -> list[dict[str, object]]:
    """A camp list where most people are Mamadou Traoré or Fatoumata Diarra; one in ten is listed twice."""
    rng = random.Random(4)
    places = [f"ML0901{i:02d}" for i in range(1, 7)]
    people: list[dict[str, object]] = []
    for i in range(n):
        sex = "m" if i % 2 else "f"
        given, family = ("Mamadou", "Traoré") if sex == "m" else ("Fatoumata", "Diarra")
        if i % 5 == 0:
            given = rng.choice(["Awa", "Moussa", "Oumar", "Kadidia", "Seydou"])
        born = date(rng.randint(1950, 2012), rng.randint(1, 12), rng.randint(1, 28))
        person = {"record_id": f"P{i:05d}", "given_name": given, "family_name": family, "sex": sex,
                  "birth_date": born.isoformat(), "phone": f"7{rng.randrange(10**7):07d}", "place": rng.choice(places)}
        people.append(person)
        if i % 10 == 0:
            people.append({**person, "record_id": f"D{i:05d}", "given_name": given.upper(), "phone": ""})
    return people


def test_blocking_on_very_common_names_is_tightened_and_reported() -> None:
    people = _common_names(1500)
    caps = Caps(max_block_pairs=5_000, max_rule_pairs=200_000)
    with Linkage(_table(people), caps=caps) as linkage:
        plans = linkage.plan()
        model = linkage.train()
        found = _pairs(linkage.predict(model, threshold=0.9).pairs())

    by_name = {p.original.name: p for p in plans}
    sound = by_name["family_name_phonetic + given_name_phonetic + sex"]
    assert sound.tightened and sound.added[0] == "place"
    assert sound.first_stats is not None and sound.first_stats.largest_records > 500
    assert set(sound.first_stats.largest_keys) & {"traure", "mamadu", "jara", "fatumata"}
    assert sound.stats is not None and sound.stats.largest_pairs <= caps.max_block_pairs
    for p in plans:
        if p.rule is not None and not p.over_cap:
            assert p.stats is not None and p.stats.largest_pairs <= caps.max_block_pairs
    planted = {(f"D{i:05d}", f"P{i:05d}") for i in range(0, 1500, 10)}
    assert len(planted & set(found)) / len(planted) > 0.95


def test_no_rule_blocks_on_names_alone() -> None:
    with pytest.raises(NamesAloneError):
        BlockingRule(("given_name_key", "family_name_key"))
    assert BlockingRule(("given_name_key", "birth_year")).name == "given_name_key + birth_year"


def test_explain_gives_each_field_its_values_level_and_weight(
        generated: tuple[list[LinkageRecord], pa.Table], trained: tuple[Linkage, Model]) -> None:
    linkage, model = trained
    pairs = _pairs(linkage.predict(model, threshold=0.99).pairs())
    (id_a, id_b), probability = next(iter(pairs.items()))

    explained = linkage.explain(model, id_a, id_b)

    # Both records are in registrations (the list has households): the household pass has its row.
    assert [r.field for r in explained.rows] == ["prior", *(c.name for c in model.comparisons), "household_pass"]
    assert explained.rows[0].weight < -5
    assert abs(sum(r.weight for r in explained.rows) - explained.match_weight) < 1e-6
    assert abs(explained.match_probability - probability) < 1e-9
    given = explained.rows[1]
    record = {r.record_id: r for r in generated[0]}[id_a]
    assert given.value_a and given.value_a in fold(record.given_name) + " " + fold(record.family_name)
    assert given.level in {lv.label for lv in model.comparisons[0].levels}
    with pytest.raises(LinkageError, match="No record with the id nobody"):
        linkage.explain(model, id_a, "nobody")


def test_the_weights_written_with_the_pairs_add_up_to_their_match_weight(trained: tuple[Linkage, Model]) -> None:
    linkage, model = trained
    table = linkage.predict(model, threshold=0.5, weights=True).pairs(weights=True)
    prior = math.log2(model.prior / (1 - model.prior))
    fields = [c for c in table.column_names if c.startswith("mw_")]
    assert fields == [*(f"mw_{c.name}" for c in model.comparisons), "mw_household_pass"]
    for row in table.to_pylist():
        assert abs(prior + sum(row[c] for c in fields) - row["match_weight"]) < 1e-6


def test_a_pair_lifted_by_its_household_is_explained_with_the_same_weight(trained: tuple[Linkage, Model]) -> None:
    linkage, model = trained
    table = linkage.predict(model, threshold=0.9, weights=True).pairs(weights=True)
    lifted = [r for r in table.to_pylist() if r["mw_household_pass"] > 0]
    assert lifted, "some pairs are supported by other pairs of their two registrations"
    row = min(lifted, key=lambda r: r["match_weight"] - r["mw_household_pass"])  # the weakest on its own
    assert row["match_weight"] - row["mw_household_pass"] < math.log2(9)  # below 0.9 without its household

    explained = linkage.explain(model, row["id_a"], row["id_b"], threshold=0.9)

    passed = explained.rows[-1]
    assert passed.field == "household_pass" and passed.weight == pytest.approx(row["mw_household_pass"])
    assert passed.level.endswith("between the two registrations") and passed.value_a != passed.value_b
    assert explained.match_probability == pytest.approx(row["match_probability"], abs=1e-9)


def test_members_of_two_registrations_found_to_be_one_household_are_all_compared(
        generated: tuple[list[LinkageRecord], pa.Table], trained: tuple[Linkage, Model]) -> None:
    # Blocking on phones alone offers only members who gave the same phone; once two registrations
    # pair, every member of one is compared with every member of the other (household expansion).
    records, _ = generated
    linkage, model = trained
    phone = {r.record_id: r.phone for r in records}

    found = _pairs(linkage.predict(model, threshold=0.9, rules=[BlockingRule(("phone",))]).pairs())

    beyond_blocking = [(a, b) for a, b in set(found) & true_pairs(records) if not phone[a] or phone[a] != phone[b]]
    assert len(beyond_blocking) > 20


def test_a_pair_whose_households_do_not_pair_is_explained_with_the_penalty(trained: tuple[Linkage, Model]) -> None:
    linkage, model = trained
    table = linkage.predict(model, threshold=0.5, weights=True).pairs(weights=True)
    penalised = [r for r in table.to_pylist() if r["mw_household_pass"] < 0]
    assert penalised, "some pairs join two registrations whose other members do not pair"
    row = penalised[0]

    explained = linkage.explain(model, row["id_a"], row["id_b"], threshold=0.5)

    passed = explained.rows[-1]
    assert passed.weight == pytest.approx(row["mw_household_pass"]) == -4.0
    assert passed.level == "no other pair between the two registrations, though both list other members"
    assert explained.match_probability == pytest.approx(row["match_probability"], abs=1e-9)


def test_co_members_with_the_same_names_and_ages_are_strong_evidence(trained: tuple[Linkage, Model]) -> None:
    household = {lv.label: lv for lv in trained[1].comparisons[-1].levels}
    names_and_years = household["all the other members' names and birth years in common (2 or more)"]
    names_only = household["all the other members' names in common (2 or more)"]
    assert names_and_years.m / names_and_years.u > 100 * names_only.m / names_only.u  # type: ignore[operator]
    assert household["no member's name in common"].m < household["no member's name in common"].u  # type: ignore[operator]


def test_reviewers_confirmed_pairs_train_the_m_values(generated: tuple[list[LinkageRecord], pa.Table]) -> None:
    records, table = generated
    confirmed = sorted(true_pairs(records))[:150]
    with Linkage(table) as linkage:
        model = linkage.train(labels=confirmed)
    assert model.training["labelled_pairs"] == 150
    assert model.comparisons[0].levels[1].m > 0.5  # type: ignore[operator]


def test_a_list_of_one_person_is_refused() -> None:
    with pytest.raises(LinkageError, match="at least two"):
        Linkage(_table([{"record_id": "1", "given_name": "Awa", "family_name": "Traoré"}]))


def test_memory_is_given_once_for_either_engine() -> None:
    options = with_memory(EngineOptions(engine="spark"), "6GB")
    assert (options.memory_limit, options.spark_driver_memory, options.engine) == ("6144MB", "6144m", "spark")
    assert with_memory(EngineOptions(), "512mb").memory_limit == "512MB"
    assert with_memory(EngineOptions(), None) == EngineOptions()
    for bad in ("lots", "6 TB", "100MB"):
        with pytest.raises(EngineUnavailable, match="--memory"):
            with_memory(EngineOptions(), bad)
