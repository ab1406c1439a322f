"""How the engine's fields and comparison levels read in the review pages and the CLI."""

from __future__ import annotations

from jatigi.core.i18n import N_, _

FIELD_LABELS = {
    "prior": N_("Starting point: two records picked at random"), "given_name": N_("Given name"),
    "family_name": N_("Family name"), "birth": N_("Birth"), "sex": N_("Sex"), "phone": N_("Phone"),
    "place": N_("Place"), "id_number": N_("Identity number"), "address": N_("Address"),
    "household": N_("Household members"), "household_pass": N_("Other pairs of the two registrations"),
}
REASON_LABELS = {"heads": N_("the heads are a pair"), "members": N_("two members or more are pairs"),
                 "phone": N_("a shared phone and a member pair")}


def field_label(name: str) -> str:
    return _(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def level_label(level: str) -> str:
    """A comparison level's label (dedup.settings marks them for translation) in the reader's language."""
    return _(level) if level else "—"
