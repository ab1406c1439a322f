"""A trained linkage model as a versioned JSON document that any engine can score with.

Splink's own saved model is SQL for the engine that trained it. Ours keeps what is engine-neutral:
the settings' name and version (the comparisons are rebuilt from `settings.py`), the fields
compared, the trained m and u probability of every comparison level with its label, the prior,
and how and when it was trained. `settings_for` renders the settings for the engine at hand and
copies the trained values in, after checking that every level's label is where the model says.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import splink

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.dedup import settings
from jatigi.dedup.blocking import Rule

FORMAT = "jatigi-linkage-model"
FORMAT_VERSION = 1
# Trained m values are kept at or above this: a field that never disagreed between the records of
# one person in the training list may still disagree in another list (a sex typed wrong), and a
# disagreement should then weigh heavily against a match, not forbid it.
M_FLOOR = 0.001


class ModelError(ValidationFailed):
    """A model file that cannot be used; the message says why."""


@dataclass
class Level:
    label: str
    m: float | None = None
    u: float | None = None
    null: bool = False


@dataclass
class Comparison:
    name: str
    levels: list[Level]


@dataclass
class Model:
    fields: tuple[str, ...]
    prior: float
    comparisons: list[Comparison]
    training: dict[str, Any] = field(default_factory=dict)
    settings_name: str = settings.SETTINGS_NAME
    settings_version: int = settings.SETTINGS_VERSION
    trained_at: str = ""
    trained_on: str = ""
    splink_version: str = splink.__version__

    @classmethod
    def from_splink(cls, trained: dict[str, Any], *, fields: tuple[str, ...], engine: str,
                    training: dict[str, Any]) -> Model:
        """Take the trained values out of a Splink settings dictionary."""
        unseen = 1 / max(1.0, float(training.get("u_max_pairs") or 1e6))
        comparisons = [Comparison(c["output_column_name"],
                                  [_trained_level(lv, unseen) for lv in c["comparison_levels"]])
                       for c in trained["comparisons"]]
        return cls(fields=fields, prior=float(trained["probability_two_random_records_match"]),
                   comparisons=comparisons, training=training, trained_on=engine,
                   trained_at=datetime.now(UTC).isoformat(timespec="seconds"))

    def settings_for(self, dialect: str, blocking_rules: Sequence[Rule] = (),
                     *, retain: bool = True) -> dict[str, Any]:
        """Splink settings for `dialect` with this model's trained values."""
        rendered = settings.render(self.fields, dialect, blocking_rules, self.prior)
        rendered["retain_intermediate_calculation_columns"] = retain
        rendered["retain_matching_columns"] = retain
        if len(rendered["comparisons"]) != len(self.comparisons):
            raise ModelError(_("The model does not match the comparisons of this version of Jatigi."))
        for target, mine in zip(rendered["comparisons"], self.comparisons, strict=True):
            levels = target["comparison_levels"]
            labels = [lv.get("label_for_charts", "") for lv in levels]
            if target["output_column_name"] != mine.name or labels != [lv.label for lv in mine.levels]:
                raise ModelError(_("The model's comparison {name} does not match this version of Jatigi.",
                                   name=mine.name))
            for lv, trained in zip(levels, mine.levels, strict=True):
                if lv.get("is_null_level"):
                    continue
                if trained.m is not None:
                    lv["m_probability"] = trained.m
                if trained.u is not None:
                    lv["u_probability"] = trained.u
        return rendered

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "settings": {"name": self.settings_name, "version": self.settings_version, "fields": list(self.fields)},
            "probability_two_random_records_match": self.prior,
            "comparisons": [{"name": c.name, "levels": [asdict(lv) for lv in c.levels]} for c in self.comparisons],
            "training": self.training,
            "trained_at": self.trained_at,
            "trained_on": self.trained_on,
            "splink_version": self.splink_version,
        }

    @classmethod
    def from_dict(cls, doc: Any) -> Model:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ModelError(_("This is not a Jatigi linkage model."))
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelError(_("The model is in format version {version}; this Jatigi reads version {ours}.",
                               version=version, ours=FORMAT_VERSION))
        try:
            spec = doc["settings"]
            if spec["name"] != settings.SETTINGS_NAME or spec["version"] != settings.SETTINGS_VERSION:
                raise ModelError(_("The model was made for the settings {name} version {version}; this Jatigi "
                                   "has {ours} version {our_version}. Train a new model.", name=spec["name"],
                                   version=spec["version"], ours=settings.SETTINGS_NAME,
                                   our_version=settings.SETTINGS_VERSION))
            fields = tuple(str(f) for f in spec["fields"])
            unknown = [f for f in fields if f not in settings.FIELDS]
            if unknown:
                raise ModelError(_("The model compares unknown fields: {fields}.", fields=", ".join(unknown)))
            comparisons = [Comparison(str(c["name"]), [Level(str(lv["label"]), _probability(lv.get("m")),
                                                             _probability(lv.get("u")), bool(lv.get("null")))
                                                       for lv in c["levels"]])
                           for c in doc["comparisons"]]
            prior = float(doc["probability_two_random_records_match"])
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError):
            raise ModelError(_("The model file is incomplete or damaged.")) from None
        if not 0 < prior < 1:
            raise ModelError(_("The model file is incomplete or damaged."))
        return cls(fields=fields, prior=prior, comparisons=comparisons, training=dict(doc.get("training") or {}),
                   trained_at=str(doc.get("trained_at", "")), trained_on=str(doc.get("trained_on", "")),
                   splink_version=str(doc.get("splink_version", "")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Model:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(_("No file {file}.", file=str(path))) from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelError(_("{file} is not a JSON file.", file=str(path))) from None
        return cls.from_dict(doc)


def _trained_level(level: dict[str, Any], unseen: float) -> Level:
    """A level's trained values. A level no random pair reached gets u = 1 / the pairs sampled (at
    most that); a level EM never saw among matches gets m = u (it then weighs nothing)."""
    label = level.get("label_for_charts", "")
    if level.get("is_null_level"):
        return Level(label, null=True)
    m, u = _probability(level.get("m_probability")), _probability(level.get("u_probability"))
    if u is None and level.get("sql_condition") != "ELSE":
        u = unseen
    if m is None:
        m = u
    if m is not None and not level.get("fix_m_probability"):  # a fixed m is a rule, not a measure
        m = max(m, M_FLOOR)
    return Level(label, m, u)


def _probability(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(f"not a probability: {value}")
    return number
