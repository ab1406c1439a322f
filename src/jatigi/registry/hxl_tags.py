"""HXL hashtags of registry columns, for importing HXL-tagged lists and exporting with tags.

Core HXL hashtags are used where one fits (#adm1+code, #loc+code, #group, #beneficiary, #date,
#contact, #value); the attributes tell the columns apart.
"""

from __future__ import annotations

# Columns of a one-row-per-person list: registry field -> hashtag with attributes.
IMPORT_TAGS: dict[str, str] = {
    "household_key": "#meta+id+household",
    "population_group": "#group+code",
    "current_pcode": "#loc+code",
    "address": "#loc+address",
    "origin_pcode": "#loc+code+origin",
    "displacement_date": "#date+displaced",
    "arrival_date": "#date+arrived",
    "today": "#date+registered",
    "living_arrangement": "#indicator+shelter+code",
    "households_in_dwelling": "#indicator+households+num",
    "monthly_rent_xof": "#value+rent+xof",
    "rent_arrears_xof": "#value+arrears+xof",
    "intention": "#indicator+intention+code",
    "priority_needs": "#need+code+list",
    "phone": "#contact+phone",
    "enumerator": "#contact+enumerator",
    "consent_registration": "#status+consent+registration",
    "consent_data_sharing": "#status+consent+sharing",
    "consent_referral": "#status+consent+referral",
    "consent_tracing": "#status+consent+tracing",
    "consent_contact": "#status+consent+contact",
    "given_name": "#beneficiary+name+given",
    "family_name": "#beneficiary+name+family",
    "sex": "#beneficiary+sex",
    "relationship": "#beneficiary+relationship",
    "birth_date": "#date+birth",
    "age": "#beneficiary+age",
    "wg_seeing": "#indicator+wg+seeing",
    "wg_hearing": "#indicator+wg+hearing",
    "wg_walking": "#indicator+wg+walking",
    "wg_cognition": "#indicator+wg+cognition",
    "wg_selfcare": "#indicator+wg+selfcare",
    "wg_communication": "#indicator+wg+communication",
    "school_attendance": "#indicator+school+code",
    "specific_needs": "#beneficiary+needs+code",
    "documents": "#beneficiary+documents+code",
    "member_phone": "#contact+phone+beneficiary",
}


def tag_key(tag: str) -> tuple[str, frozenset[str]]:
    """`#Loc +Code` and `#loc+code` are the same column; attribute order does not matter."""
    parts = [p.strip().lower() for p in tag.strip().split("+")]
    return parts[0], frozenset(p for p in parts[1:] if p)


FIELD_BY_TAG: dict[tuple[str, frozenset[str]], str] = {tag_key(t): f for f, t in IMPORT_TAGS.items()}
