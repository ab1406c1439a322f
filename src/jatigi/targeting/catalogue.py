"""The names a model may use on the registry: household and member fields, the answers of the
household's latest assessment, and the indicators computed from them."""

from __future__ import annotations

from functools import cache

from jatigi.targeting.fields import Field, default_catalogue
from jatigi.targeting.indicators import indicator_fields
from jatigi.targeting.inputs import assessment_fields
from jatigi.targeting.tables import STORED_INPUTS

# In the registry, disability is read from each member's Washington Group answers
# (`members_with_disability`); the household-level indicator is for survey files.
REGISTRY_LEAVES_OUT = frozenset({"wg_disability"})


@cache
def registry_catalogue() -> dict[str, Field]:
    extra = [*assessment_fields(v.name for v in STORED_INPUTS),
             *(f for f in indicator_fields() if f.name not in REGISTRY_LEAVES_OUT)]
    return default_catalogue(extra)
