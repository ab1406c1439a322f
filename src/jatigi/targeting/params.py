"""The indicator parameters the registry uses: FCS thresholds and the MEB and survival MEB.

Set per deployment in the environment (`JATIGI_MEB`, `JATIGI_SMEB`: FCFA per person per month,
`JATIGI_FCS_THRESHOLDS`: "28,42" or "21,35"); a command may override them for one run, and every
run records the values it used. With no MEB set, economic capacity is "not assessed".
"""

from __future__ import annotations

import os

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.targeting.indicators import FCS_THRESHOLDS_SAHEL, IndicatorParams


def _number(name: str) -> float | None:
    text = os.environ.get(name, "").strip().replace(" ", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(_("{name} must be a number of FCFA, not {value}.", name=name, value=text)) from None


def thresholds(text: str, option: bool = False) -> tuple[float, float]:
    """"28,42" as (28.0, 42.0); a refusal names the command's option when `option` (the CLI)."""
    parts = text.replace(";", ",").split(",")
    try:
        low, high = (float(p.strip().replace(" ", "")) for p in parts)
    except ValueError:
        if option:
            raise ValidationFailed(_("--fcs-thresholds: two numbers separated by a comma, such as 28,42, not "
                                     "{value}.", value=text)) from None
        raise ValidationFailed(_("FCS thresholds: two numbers separated by a comma, such as 28,42, not {value}.",
                                 value=text)) from None
    return low, high


def registry_params(meb: float | None = None, smeb: float | None = None,
                    fcs_thresholds: tuple[float, float] | None = None) -> IndicatorParams:
    """The deployment's parameters, with any of them overridden."""
    env_thresholds = os.environ.get("JATIGI_FCS_THRESHOLDS", "").strip()
    return IndicatorParams(
        fcs_thresholds=fcs_thresholds or (thresholds(env_thresholds) if env_thresholds else FCS_THRESHOLDS_SAHEL),
        meb_per_person=meb if meb is not None else _number("JATIGI_MEB"),
        smeb_per_person=smeb if smeb is not None else _number("JATIGI_SMEB"),
    )


def as_record(params: IndicatorParams) -> dict[str, object]:
    """What a run records of the parameters it used."""
    return {"fcs_thresholds": list(params.fcs_thresholds), "meb_per_person": params.meb_per_person,
            "smeb_per_person": params.smeb_per_person, "currency": params.currency}
