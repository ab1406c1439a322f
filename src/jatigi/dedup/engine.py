"""The linkage engine: train a model on a list of people, find the pairs that are the same person,
group them, and say why a pair matched.

    with Linkage(prepared_table) as linkage:          # DuckDB; EngineOptions(engine="spark") for Spark
        model = linkage.train()                       # prior, u by sampling, m by EM
        found = linkage.predict(model, threshold=0.9) # blocking planned and tightened first
        pairs = found.pairs()                         # id_a, id_b, match_probability
        groups = found.clusters(0.9)                  # id, cluster_id

The input is `prepare.prepare_people(...).to_arrow()` (or `prepare_table`): one row per person
with the comparison columns.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker
from splink.blocking_analysis import n_largest_blocks
from splink.internals.splink_dataframe import SplinkDataFrame

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.dedup import household_expansion, household_pass, settings
from jatigi.dedup.backends import Backend, EngineOptions, open_backend
from jatigi.dedup.blocking import DEFAULT_RULES, BlockingRule, BlockStats, Caps, RulePlan, count_sql, plan, rules_in_use
from jatigi.dedup.model import Model

log = logging.getLogger(__name__)
SPLINK_LOG_LEVEL = logging.ERROR

# The prior (how likely two records picked at random are the same person) is counted from pairs
# that agree exactly on strong evidence, divided by the share of true pairs such rules find.
# On the earlier generated lists (bench/dedup.py) these rules found 52-54% of the true pairs, on
# the current ones 40% (100,000 records, 10%); 0.5 is kept: a lower value would raise the prior,
# and F1 is already best at thresholds of 0.9-0.95, the side of fewer matches.
PRIOR_RULES: tuple[tuple[str, ...], ...] = (
    ("given_name_key", "family_name_key", "birth_date"),
    ("given_name_key", "family_name_key", "phone"),
    ("id_number",),
)
PRIOR_RECALL = 0.5
MAX_PRIOR = 0.5
# Expectation maximisation runs on pairs from four of these rules, the first ones the list has
# data for, and from more when a comparison is left untrained: a comparison is trained by the
# rules that do not block on its columns. EM learns what sets true pairs apart only where they are
# a good share of the pairs: a rule on names alone ("given_name_key", "family_name_key", "sex")
# offers mostly namesakes on a large list (0.4% true pairs at 100,000 records, fewer at a
# million), and EM then learns namesakes, not duplicates. The first rules below keep 50-70% true
# pairs at 100,000 records (bench/dedup_oracle.py); the last ones are for lists without places,
# addresses or phones.
EM_RULES: tuple[tuple[str, ...], ...] = (
    ("birth_date", "place"),
    ("phone", "given_name_key"),
    ("given_name_key", "family_name_key", "address_area"),
    ("given_name_key", "birth_date"),
    ("birth_date",),
    ("given_name_key", "family_name_key", "birth_year"),
    ("given_name_key", "family_name_key", "sex"),
    ("id_number",),
)
EM_RULE_COUNT = 4
EM_MAX_PAIRS = 2_000_000
EM_PROBE_RECORDS = 20_000  # records sampled to count a rule's pairs before EM samples them down to EM_MAX_PAIRS
U_MAX_PAIRS = 5_000_000
DEFAULT_THRESHOLD = 0.9


class LinkageError(ValidationFailed):
    """A list the engine cannot work on; the message says why."""


@dataclass
class ExplainRow:
    field: str  # the comparison, or "prior" for the starting point
    value_a: str
    value_b: str
    level: str  # the comparison level's label
    weight: float  # match weight added (positive) or removed (negative), in bits; includes term frequency


@dataclass
class Explanation:
    id_a: str
    id_b: str
    rows: list[ExplainRow]
    match_weight: float
    match_probability: float


def available_columns(table: pa.Table) -> set[str]:
    """Columns with at least one value."""
    return {name for name in table.column_names if table.column(name).null_count < table.num_rows}


def fields_of(table: pa.Table) -> tuple[str, ...]:
    have = available_columns(table)
    return tuple(f for f, cols in settings.FIELDS.items() if all(c in have for c in cols))


class Prediction:
    """Pairs found by a model on a list, kept in the engine until written. `frame` holds the pairs at
    or above the threshold: with households (`scored` given: every pair blocking and the household
    expansion scored), after the household pass (see `household_pass`)."""

    def __init__(self, linkage: Linkage, linker: Linker, frame: SplinkDataFrame, threshold: float,
                 plans: list[RulePlan], *, scored: pa.Table | None = None) -> None:
        self.linkage = linkage
        self.linker = linker
        self.threshold = threshold
        self.plans = plans
        self._scored = scored
        self._first = frame
        self.frame = frame
        if scored is not None:
            passed = household_pass.apply(scored, threshold, linkage.registrations)
            self.frame = linkage.backend.register(passed, "pairs")

    def scored_pairs(self) -> pa.Table:
        """Every pair the model scored (from the floor), before the household pass."""
        return self._scored if self._scored is not None else self._first.as_pyarrow_table()

    def pairs(self, *, weights: bool = False) -> pa.Table:
        """`id_a, id_b, match_probability` (and `match_weight`, `mw_<field>` with `weights`), each pair
        once with id_a < id_b, by id."""
        table = self.frame.as_pyarrow_table()
        columns = {"id_a": table.column("unique_id_l"), "id_b": table.column("unique_id_r"),
                   "match_probability": table.column("match_probability")}
        if weights:
            columns["match_weight"] = table.column("match_weight")
            for name in table.column_names:
                if name.startswith("mw_") and not name.startswith("mw_tf_adj_"):
                    total = table.column(name)
                    adjustment = tf_weight_column(name[3:])
                    if adjustment in table.column_names:
                        total = pc.add(total, pc.fill_null(table.column(adjustment), 0.0))
                    columns[name] = total
        out = pa.table(columns)
        return out.sort_by([("id_a", "ascending"), ("id_b", "ascending")])

    def clusters(self, threshold: float | None = None) -> pa.Table:
        """`id, cluster_id` for every record: records joined by pairs at or above the threshold
        (directly or through others) share a cluster; a record alone is its own cluster."""
        level = self.threshold if threshold is None else threshold
        if level < self.threshold:
            raise ValueError("cannot cluster below the prediction threshold")
        frame = self.linker.clustering.cluster_pairwise_predictions_at_threshold(
            self.frame, threshold_match_probability=level)
        table = frame.as_pyarrow_table().select(["unique_id", "cluster_id"])
        table = table.rename_columns(["id", "cluster_id"])
        return table.sort_by([("cluster_id", "ascending"), ("id", "ascending")])


class Linkage:
    def __init__(self, people: pa.Table, options: EngineOptions | None = None, *, caps: Caps | None = None) -> None:
        if people.num_rows < 2:
            raise LinkageError(_("The list has {n} person; at least two are needed to find duplicates.",
                                 n=people.num_rows))
        self.people = people
        self.options = options or EngineOptions()
        self.caps = caps or Caps()
        self.available = available_columns(people)
        self.fields = fields_of(people)
        self.backend: Backend = open_backend(self.options)
        try:
            self.input = self.backend.register(people)
        except BaseException:
            self.backend.close()
            raise

    def __enter__(self) -> Linkage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    @functools.cached_property
    def registrations(self) -> pa.Table:
        """How many records of the list each registration (`household`) holds."""
        return household_pass.sizes(self.people.column("household"))

    # --- training ------------------------------------------------------------------------------

    def train(self, *, seed: int = 1, labels: Sequence[tuple[str, str]] = ()) -> Model:
        """Train a model on this list: the prior from exact agreement, u from random pairs (seeded),
        m by expectation maximisation, then from reviewers' confirmed pairs when given."""
        n = self.people.num_rows
        linker = Linker(self.input, settings.render(self.fields, self.dialect, prior=self._default_prior()),
                        log_level=SPLINK_LOG_LEVEL)
        prior_rules = [r for r in PRIOR_RULES if all(c in self.available for c in r)]
        prior_found = False
        if prior_rules:
            try:
                linker.training.estimate_probability_two_random_records_match(
                    [_block(r) for r in prior_rules], recall=PRIOR_RECALL)
                prior_found = True
            except Exception as exc:  # no pair agrees exactly: keep the default prior
                log.info("prior not estimated: %s", exc)
        u_pairs = min(U_MAX_PAIRS, max(100_000, n * 10))
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        trained_rules = self._expectation_maximisation(linker)
        if labels:
            self._train_from_labels(linker, labels)
        trained = linker.misc.save_model_to_json()
        # On a very small list the estimate can reach 1, which no score can move: keep it in bounds.
        prior = float(trained["probability_two_random_records_match"])
        trained["probability_two_random_records_match"] = min(max(prior, 1e-12), MAX_PRIOR)
        training = {
            "records": n, "seed": seed, "prior_rules": [list(r) for r in prior_rules] if prior_found else [],
            "prior_recall": PRIOR_RECALL if prior_found else None, "u_max_pairs": u_pairs,
            "em_rules": [list(r) for r in trained_rules], "em_max_pairs": EM_MAX_PAIRS, "labelled_pairs": len(labels),
        }
        return Model.from_splink(trained, fields=self.fields, engine=self.dialect, training=training)

    def _expectation_maximisation(self, linker: Linker) -> list[tuple[str, ...]]:
        """Run EM on the first `EM_RULE_COUNT` rules the list has data for, and on more when a
        comparison is still untrained (every rule so far blocks on its columns): a comparison EM
        never trains keeps m = u and weighs nothing. Returns the rules EM ran on."""
        n = self.people.num_rows
        inputs = {c.output_column_name: {col.unquote().name for col in c._input_columns_used_by_case_statement}
                  for c in linker._settings_obj.comparisons}
        untrained = set(inputs)
        trained_rules: list[tuple[str, ...]] = []
        for rule in (r for r in EM_RULES if all(c in self.available for c in r)):
            trains = {name for name, cols in inputs.items() if not cols & set(rule)}
            if len(trained_rules) >= EM_RULE_COUNT and not trains & untrained:
                if not untrained:
                    break
                continue
            # A session that fails (no pairs, or only matches, on this list) may leave the model half
            # changed: keep a copy to go back to.
            kept = copy.deepcopy(linker._settings_obj.core_model_settings)
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    _block(rule), max_pairs=EM_MAX_PAIRS,
                    record_sample_proportion=min(1.0, max(0.01, EM_PROBE_RECORDS / n)))
            except Exception as exc:
                log.info("EM on %s skipped: %s", rule, exc)
                linker._settings_obj.core_model_settings = kept
                continue
            trained_rules.append(rule)
            untrained -= trains
        return trained_rules

    def _default_prior(self) -> float:
        # One true pair per ten records, when nothing better is known.
        n = self.people.num_rows
        return min(0.5, 0.1 * n / max(1, n * (n - 1) / 2))

    def _train_from_labels(self, linker: Linker, labels: Sequence[tuple[str, str]]) -> None:
        pairs = [(min(a, b), max(a, b)) for a, b in labels if a != b]
        table = pa.table({"unique_id_l": [a for a, _b in pairs], "unique_id_r": [b for _a, b in pairs]})
        frame = self.backend.register(table, "labels")
        linker.training.estimate_m_from_pairwise_labels(frame.physical_name)

    # --- blocking ------------------------------------------------------------------------------

    def plan(self, rules: Sequence[BlockingRule] = DEFAULT_RULES) -> list[RulePlan]:
        """Count the pairs each rule would make on this list and tighten the rules that make too many."""
        return plan(rules, available=self.available, count=self._count, caps=self.caps)

    def _count(self, rule: BlockingRule) -> BlockStats:
        pairs, largest = self.backend.fetch(count_sql(self.input.physical_name, rule))[0]
        keys: tuple[str, ...] = ()
        if largest > 1:
            top = n_largest_blocks(self.input, blocking_rule=rule.creator(), link_type="dedupe_only", n_largest=1)
            records = top.as_record_list()
            if records:
                keys = tuple(str(records[0][f"key_{i}"]) for i in range(len(rule.columns)))
                largest = int(records[0]["count_l"])
        return BlockStats(int(pairs), int(largest), keys)

    # --- predicting ----------------------------------------------------------------------------

    def predict(self, model: Model, *, threshold: float, rules: Sequence[BlockingRule] = DEFAULT_RULES,
                weights: bool = False, plans: list[RulePlan] | None = None, floor: float | None = None) -> Prediction:
        """Pairs scored at or above `threshold` (a match probability between 0 and 1), blocking with
        `plans` (default: `self.plan(rules)`). Pairs are scored from `floor` (default: the threshold,
        or lower when the household pass may lift pairs to it)."""
        if plans is None:
            plans = self.plan(rules)
        in_use = rules_in_use(plans)
        if not in_use:
            raise LinkageError(_("No way to pair records on this list: besides names it needs a birth date, "
                                 "a phone, a place or an identity number."))
        households = "household" in model.fields
        spec = model.settings_for(self.dialect, in_use, retain=weights)
        if households and not weights:
            spec["additional_columns_to_retain"] = ["household"]
        if floor is None:
            floor = household_pass.floor(threshold) if households else threshold
        linker = Linker(self.input, spec, log_level=SPLINK_LOG_LEVEL)
        frame = linker.inference.predict(threshold_match_probability=min(floor, threshold))
        scored = None
        if households:
            scored = self._expand_households(model, frame.as_pyarrow_table(), threshold=threshold,
                                             floor=min(floor, threshold), weights=weights)
        return Prediction(self, linker, frame, threshold, plans, scored=scored)

    def _expand_households(self, model: Model, scored: pa.Table, *, threshold: float, floor: float,
                           weights: bool) -> pa.Table:
        """`scored` and every pair of records between two registrations joined by a pair at or above
        the threshold that blocking did not offer (see `household_expansion`): the household pass
        then sees every pair that could support another."""
        strong = scored.filter(pc.greater_equal(scored.column("match_probability"), threshold))
        households = self.people.column("household")
        links = household_expansion.links(strong, self.registrations, households)
        if links.null_count == len(links):
            return scored
        linked = self.backend.register(self.people.append_column(household_expansion.LINKS, links), "linked")
        spec = model.settings_for(self.dialect, [household_expansion.LinkRule()], retain=weights)
        if not weights:
            spec["additional_columns_to_retain"] = ["household"]
        linker = Linker(linked, spec, log_level=SPLINK_LOG_LEVEL)
        found = linker.inference.predict(threshold_match_probability=floor)
        added = household_expansion.new_pairs(found.as_pyarrow_table(), scored)
        found.drop_table_from_database_and_remove_from_cache()
        linked.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return pa.concat_tables([scored, added]) if added.num_rows else scored

    # --- explaining ----------------------------------------------------------------------------

    def explain(self, model: Model, id_a: str, id_b: str, *, threshold: float = DEFAULT_THRESHOLD) -> Explanation:
        """Why a pair of records of this list scores what it does: per field, the values compared,
        the level they reached and the weight it added or removed; with households, what the other
        pairs of the two registrations added (the household pass at `threshold`)."""
        ids = self.people.column(settings.UNIQUE_ID)
        rows = []
        for uid in (id_a, id_b):
            found = pc.indices_nonzero(pc.equal(ids, uid)).to_pylist()
            if not found:
                raise LinkageError(_("No record with the id {id} in the list.", id=uid))
            rows.append(self.people.slice(found[0], 1))
        linker = Linker(self.input, model.settings_for(self.dialect, retain=True), log_level=SPLINK_LOG_LEVEL)
        for comparison in linker._settings_obj.comparisons:
            for level in comparison.comparison_levels:
                if level._has_tf_adjustments:
                    linker.table_management.compute_tf_table(level._tf_adjustment_input_column.unquote().name)
        scored = linker.inference.score_pair(self.backend.register(rows[0], "pair"),
                                             self.backend.register(rows[1], "pair")).as_record_list()[0]
        explanation = _explanation(linker, model, scored, id_a, id_b)
        if "household" in model.fields:
            self._explain_household_pass(linker, explanation, threshold)
        return explanation

    def _explain_household_pass(self, linker: Linker, explanation: Explanation, threshold: float) -> None:
        """Add the household pass to an explanation: every pair of the two records' registrations is
        scored, and the pass run on them as on the whole list."""
        households = self.people.column("household")
        ids = self.people.column(settings.UNIQUE_ID)
        mine = []
        for uid in (explanation.id_a, explanation.id_b):
            mine.append(households[pc.indices_nonzero(pc.equal(ids, uid)).to_pylist()[0]].as_py())
        if mine[0] is None or mine[1] is None or mine[0] == mine[1]:
            return
        members = [self.people.filter(pc.fill_null(pc.equal(households, h), False)) for h in mine]
        cross = linker.inference.score_pairs(self.backend.register(members[0], "pair"),
                                             self.backend.register(members[1], "pair")).as_pyarrow_table()
        table = household_pass.lifted(cross, threshold, household_pass.sizes(pa.concat_arrays(
            [m.column("household").combine_chunks() for m in members])))
        pair = {explanation.id_a, explanation.id_b}
        rows = table.to_pylist()
        at = next(i for i, r in enumerate(rows) if {r["unique_id_l"], r["unique_id_r"]} == pair)
        bonus, others = float(rows[at][household_pass.COLUMN]), int(rows[at][household_pass.SUPPORT])
        weight = explanation.match_weight + bonus
        probability = household_pass.weight_to_probability(weight) if bonus else explanation.match_probability
        label = PASS_LABELS[min(others, household_pass.MAX_SUPPORT)] if bonus >= 0 else PASS_ALONE
        if probability >= threshold:
            strong = table.append_column("_row", pa.array(range(len(rows))))
            strong = strong.filter(pc.greater_equal(strong.column("match_probability"), threshold))
            if at not in strong.filter(household_pass.kept(strong)).column("_row").to_pylist():
                label = PASS_LEFT_OUT
        explanation.rows.append(ExplainRow(household_pass.FIELD, mine[0], mine[1], label, bonus))
        explanation.match_weight, explanation.match_probability = weight, probability


def _block(columns: tuple[str, ...]) -> Any:
    from splink import block_on

    return block_on(*columns)


def tf_weight_column(comparison_name: str) -> str:
    """The column with the weight term frequencies added to a comparison (the same name is rarer or
    more common than average). Splink names it after the comparison, not after the column whose
    frequencies it uses: `mw_tf_adj_given_name` for a comparison that adjusts on `given_name_key`."""
    return f"mw_tf_adj_{comparison_name}".replace(" ", "_")


# What the household pass found, by the number of other pairs of the two registrations.
PASS_LABELS = (
    N_("no other pair between the two registrations"),
    N_("1 other pair between the two registrations"),
    N_("2 other pairs between the two registrations"),
    N_("3 other pairs or more between the two registrations"),
)
PASS_ALONE = N_("no other pair between the two registrations, though both list other members")
PASS_LEFT_OUT = N_("left out: one of the two records pairs better with another member of the other registration")

# Which prepared columns show the values a comparison looked at.
SHOWN: dict[str, tuple[str, ...]] = {
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "birth": ("birth_date", "birth_year"),
    "sex": ("sex",),
    "phone": ("phone",),
    "place": ("place",),
    "id_number": ("id_number",),
    "address": ("address",),
    "household": ("household_given",),
}


def _shown(record: dict[str, Any], field: str, side: str) -> str:
    for col in SHOWN.get(field, (field,)):
        value = record.get(f"{col}_{side}")
        if value is not None:
            return str(value)
    return ""


def _explanation(linker: Linker, model: Model, record: dict[str, Any], id_a: str, id_b: str) -> Explanation:
    prior = model.prior
    rows = [ExplainRow("prior", "", "", "", math.log2(prior / (1 - prior)))]
    levels = {c.name: c.levels for c in model.comparisons}
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        gamma = record.get(f"gamma_{name}")
        weight = float(record.get(f"mw_{name}") or 0.0) + float(record.get(tf_weight_column(name)) or 0.0)
        label = ""
        for level in comparison.comparison_levels:
            if level.comparison_vector_value == gamma:
                label = level.label_for_charts
        if not label and name in levels:
            label = levels[name][0].label
        rows.append(ExplainRow(name, _shown(record, name, "l"), _shown(record, name, "r"), label, weight))
    swap = str(record.get("unique_id_l")) != id_a
    if swap:
        rows = [ExplainRow(r.field, r.value_b, r.value_a, r.level, r.weight) for r in rows]
    return Explanation(id_a, id_b, rows, float(record["match_weight"]), float(record["match_probability"]))
