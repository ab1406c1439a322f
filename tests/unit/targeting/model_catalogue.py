"""The catalogue the model-language tests use: the registry's fields, the assessment inputs and
the indicators, as the application assembles them, plus one boolean field for the tests."""

from __future__ import annotations

from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.fields import Field


def catalogue() -> dict[str, Field]:
    return {**registry_catalogue(), "assessed_today": Field("assessed_today", "boolean", "assessment", "Assessed today")}
