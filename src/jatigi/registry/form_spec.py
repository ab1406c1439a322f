"""The registration form: one description shared by the XLSForm writer, the Kobo importer and
the demo's Kobo export, so that what field teams collect is exactly what the registry reads.

Field names are the XLSForm `name`s; Kobo exports head columns with the group path
(`household/population_group`) or with the label, in French or English.
"""

from __future__ import annotations

from dataclasses import dataclass

from jatigi.core.i18n import N_
from jatigi.registry import vocab

FORM_ID = "jatigi_registration"
FORM_VERSION = "2026.1"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text, integer, date, select_one, select_multiple, note
    label: str
    choices: str | None = None
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Group:
    name: str
    label: str
    fields: tuple[Field, ...]
    repeat: bool = False


YES_NO = {"yes": N_("Yes"), "no": N_("No")}
WG = {str(k): v for k, v in vocab.WG_LEVELS.items()}

CHOICE_LISTS: dict[str, dict[str, str]] = {
    "yes_no": YES_NO,
    "population_group": vocab.POPULATION_GROUPS,
    "living_arrangement": vocab.LIVING_ARRANGEMENTS,
    "intention": vocab.INTENTIONS,
    "needs": vocab.NEEDS,
    "sex": vocab.SEXES,
    "relationship": vocab.RELATIONSHIPS,
    "wg": WG,
    "school": vocab.SCHOOL_ATTENDANCE,
    "specific_needs": vocab.SPECIFIC_NEEDS,
    "documents": vocab.DOCUMENTS,
    "movement_kind": vocab.MOVEMENT_KINDS,
}

PCODE_RE = "regex(., '^[A-Z]{2}[0-9]{0,12}$')"
PCODE_MSG = N_("A P-code such as ML0901 or ML090104223")
DISPLACED = "${population_group} != 'host'"

CONSENT = Group("consent", N_("Consent"), (
    Field("consent_registration", "select_one", N_("Consent to registration and assistance"),
          "yes_no", required=True),
    Field("consent_data_sharing", "select_one", N_("Consent to sharing with partner organisations"),
          "yes_no", required=True),
    Field("consent_referral", "select_one", N_("Consent to referral to services"), "yes_no",
          required=True),
    Field("consent_tracing", "select_one", N_("Consent to family tracing"), "yes_no"),
    Field("consent_contact", "select_one", N_("Consent to be contacted by phone"), "yes_no"),
    Field("enumerator", "text", N_("Name of the enumerator who took consent"), required=True),
))

HOUSEHOLD = Group("household", N_("Household"), (
    Field("population_group", "select_one", N_("Population group"), "population_group", required=True),
    Field("current_pcode", "text", N_("Current place (P-code of commune or quartier)"), required=True,
          constraint=PCODE_RE, constraint_message=PCODE_MSG),
    Field("address", "text", N_("Address or landmark")),
    Field("origin_pcode", "text", N_("Place of origin (P-code)"), relevant=DISPLACED,
          constraint=PCODE_RE, constraint_message=PCODE_MSG),
    Field("displacement_date", "date", N_("Date of displacement"), relevant=DISPLACED),
    Field("arrival_date", "date", N_("Date of arrival at the current place")),
    Field("living_arrangement", "select_one", N_("Living arrangement"), "living_arrangement",
          required=True),
    Field("households_in_dwelling", "integer", N_("Number of households sharing the dwelling"),
          constraint=". >= 1 and . <= 30"),
    Field("monthly_rent_xof", "integer", N_("Monthly rent (FCFA)"),
          relevant="selected(${living_arrangement}, 'renting') or "
                   "selected(${living_arrangement}, 'host_family_paying')",
          constraint=". >= 0"),
    Field("rent_arrears_xof", "integer", N_("Rent arrears (FCFA)"),
          relevant="${monthly_rent_xof} > 0", constraint=". >= 0"),
    Field("intention", "select_one", N_("Intention for the coming months"), "intention",
          relevant=DISPLACED),
    Field("priority_needs", "select_multiple", N_("Priority needs"), "needs"),
    Field("phone", "text", N_("Contact phone number")),
))

MEMBERS = Group("members", N_("Household members"), (
    Field("given_name", "text", N_("Given name"), required=True),
    Field("family_name", "text", N_("Family name"), required=True),
    Field("sex", "select_one", N_("Sex"), "sex", required=True),
    Field("relationship", "select_one", N_("Relationship to the head of household"), "relationship",
          required=True),
    Field("birth_date", "date", N_("Date of birth, if known")),
    Field("age", "integer", N_("Age in years (estimated if the date of birth is unknown)"),
          constraint=". >= 0 and . <= 120"),
    Field("wg_seeing", "select_one", vocab.WG_DOMAINS["seeing"], "wg", relevant="${age} >= 5"),
    Field("wg_hearing", "select_one", vocab.WG_DOMAINS["hearing"], "wg", relevant="${age} >= 5"),
    Field("wg_walking", "select_one", vocab.WG_DOMAINS["walking"], "wg", relevant="${age} >= 5"),
    Field("wg_cognition", "select_one", vocab.WG_DOMAINS["cognition"], "wg", relevant="${age} >= 5"),
    Field("wg_selfcare", "select_one", vocab.WG_DOMAINS["selfcare"], "wg", relevant="${age} >= 5"),
    Field("wg_communication", "select_one", vocab.WG_DOMAINS["communication"], "wg",
          relevant="${age} >= 5"),
    Field("school_attendance", "select_one", N_("School attendance"), "school"),
    Field("specific_needs", "select_multiple", N_("Specific needs"), "specific_needs"),
    Field("documents", "select_multiple", N_("Documents held"), "documents"),
    Field("member_phone", "text", N_("Phone number of the member")),
), repeat=True)

RELATIVES = Group("separated_relatives", N_("Separated relatives"), (
    Field("relative_name", "text", N_("Name of the separated relative"), required=True),
    Field("relative_relationship", "select_one", N_("Relationship to the head of household"),
          "relationship", required=True),
    Field("relative_sex", "select_one", N_("Sex"), "sex"),
    Field("relative_age", "integer", N_("Age in years"), constraint=". >= 0 and . <= 120"),
    Field("relative_last_pcode", "text", N_("Last known place (P-code)"),
          constraint=PCODE_RE, constraint_message=PCODE_MSG),
    Field("relative_whereabouts", "text", N_("Last known whereabouts, in the household's words")),
    Field("relative_separated_on", "date", N_("Date of separation")),
), repeat=True)

MOVEMENTS = Group("movements", N_("Movements"), (
    Field("movement_kind", "select_one", N_("Kind of movement"), "movement_kind", required=True),
    Field("movement_date", "date", N_("Date of the movement")),
    Field("movement_from", "text", N_("From (P-code)"), constraint=PCODE_RE,
          constraint_message=PCODE_MSG),
    Field("movement_to", "text", N_("To (P-code)"), constraint=PCODE_RE, constraint_message=PCODE_MSG),
), repeat=True)

GROUPS: tuple[Group, ...] = (CONSENT, HOUSEHOLD, MEMBERS, RELATIVES, MOVEMENTS)
MAIN_GROUPS = tuple(g for g in GROUPS if not g.repeat)
REPEATS = {g.name: g for g in GROUPS if g.repeat}

# Kobo metadata columns.
META_UUID = "_uuid"
META_INDEX = "_index"
META_PARENT_INDEX = "_parent_index"
META_SUBMISSION_TIME = "_submission_time"
META_TODAY = "today"

CONSENT_PURPOSE_OF = {
    "consent_registration": "registration",
    "consent_data_sharing": "data_sharing",
    "consent_referral": "referral",
    "consent_tracing": "tracing",
    "consent_contact": "contact",
}
