"""A model trained on DuckDB scores on Spark (local mode) and finds the same pairs."""

from __future__ import annotations

import importlib.util

import pyarrow as pa
import pytest

from jatigi.dedup.backends import EngineOptions
from jatigi.dedup.engine import Linkage
from jatigi.dedup.prepare import prepare_people
from jatigi.demo.linkage_data import REFERENCE_DAY, people_lists

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed (pip install 'jatigi[spark]'); .ci/run installs it"),
]


def _by_pair(table: pa.Table) -> dict[tuple[str, str], float]:
    return {(row["id_a"], row["id_b"]): row["match_probability"] for row in table.to_pylist()}


def _groups(table: pa.Table) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for row in table.to_pylist():
        members.setdefault(row["cluster_id"], set()).add(row["id"])
    return {frozenset(m) for m in members.values()}


def test_the_same_model_gives_the_same_pairs_on_duckdb_and_spark() -> None:
    records = [r.__dict__ for r in people_lists(1500, 0.25, seed=17)]
    table = prepare_people(records, id_column="record_id", reference=REFERENCE_DAY).to_arrow()
    with Linkage(table) as duck:
        model = duck.train()
        found = duck.predict(model, threshold=0.5)
        on_duckdb = found.pairs()
        duck_groups = found.clusters(0.9)
        duck_plans = [p.rule for p in found.plans]

    with Linkage(table, EngineOptions(engine="spark", spark_driver_memory="1g")) as spark:
        found = spark.predict(model, threshold=0.5)
        on_spark = found.pairs()
        spark_groups = found.clusters(0.9)
        plans = [p.rule for p in found.plans]

    assert on_duckdb.num_rows > 200
    duck_pairs = _by_pair(on_duckdb)
    spark_pairs = _by_pair(on_spark)
    assert spark_pairs.keys() == duck_pairs.keys()
    assert max(abs(spark_pairs[k] - duck_pairs[k]) for k in duck_pairs) < 1e-9
    assert plans == duck_plans  # blocking counted and tightened alike on both engines

    assert _groups(spark_groups) == _groups(duck_groups)
