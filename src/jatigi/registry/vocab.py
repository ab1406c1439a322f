"""Code lists of the registry, with their translatable labels.

The codes are what is stored, imported and exported; the labels are what people read. The
registration XLSForm, the importer and the API all take their choices from here.
"""

from __future__ import annotations

from jatigi.core.i18n import N_

POPULATION_GROUPS = {
    "idp": N_("IDP in displacement"),
    "idp_returned": N_("IDP returned to place of origin"),
    "idp_settled_elsewhere": N_("IDP settled elsewhere"),
    "repatriated_refugee": N_("Repatriated refugee"),
    "host": N_("Host community / non-displaced"),
}

LIVING_ARRANGEMENTS = {
    "host_family_free": N_("With a host family, free of charge"),
    "host_family_paying": N_("With a host family, paying"),
    "renting": N_("Renting"),
    "own_home": N_("Own home"),
    "collective_site": N_("Collective site"),
    "other": N_("Other"),
}

INTENTIONS = {
    "return": N_("Return to place of origin"),
    "stay": N_("Integrate locally"),
    "relocate": N_("Settle elsewhere"),
    "undecided": N_("Undecided"),
}

SEXES = {"f": N_("Female"), "m": N_("Male")}

RELATIONSHIPS = {
    "head": N_("Head of household"),
    "spouse": N_("Spouse"),
    "child": N_("Son or daughter"),
    "grandchild": N_("Grandchild"),
    "parent": N_("Father or mother"),
    "sibling": N_("Brother or sister"),
    "other_relative": N_("Other relative"),
    "unrelated": N_("Not related"),
}

# Washington Group short set: six domains, four answers; 3 or 4 in any domain is a disability.
WG_DOMAINS = {
    "seeing": N_("Difficulty seeing, even with glasses"),
    "hearing": N_("Difficulty hearing, even with a hearing aid"),
    "walking": N_("Difficulty walking or climbing steps"),
    "cognition": N_("Difficulty remembering or concentrating"),
    "selfcare": N_("Difficulty with self-care, such as washing or dressing"),
    "communication": N_("Difficulty communicating"),
}
WG_LEVELS = {
    1: N_("No difficulty"),
    2: N_("Some difficulty"),
    3: N_("A lot of difficulty"),
    4: N_("Cannot do at all"),
}
WG_DISABILITY_THRESHOLD = 3

SPECIFIC_NEEDS = {
    "CR": N_("Child at risk"),
    "CR-CP": N_("Child parent"),
    "CR-CS": N_("Child spouse"),
    "CR-LW": N_("Child labour"),
    "CR-NE": N_("Child not in school"),
    "CR-AF": N_("Child associated with armed forces or groups"),
    "SC": N_("Unaccompanied or separated child"),
    "SC-UC": N_("Unaccompanied child"),
    "SC-SC": N_("Separated child"),
    "SC-CH": N_("Child-headed household"),
    "SC-FC": N_("Child in foster care"),
    "WR": N_("Woman at risk"),
    "WR-WR": N_("Woman at risk"),
    "WR-SF": N_("Single woman"),
    "WR-LC": N_("Lactating woman"),
    "ER": N_("Older person at risk"),
    "ER-NF": N_("Single older person"),
    "ER-MC": N_("Older person with children"),
    "ER-FR": N_("Older person unable to care for self"),
    "SP": N_("Single parent or caregiver"),
    "SP-PT": N_("Single parent"),
    "SP-GP": N_("Single grandparent"),
    "SP-CG": N_("Single caregiver"),
    "DS": N_("Disability"),
    "DS-BD": N_("Visual impairment"),
    "DS-DF": N_("Hearing impairment"),
    "DS-PM": N_("Physical disability"),
    "DS-MM": N_("Mental disability"),
    "DS-SD": N_("Speech impairment"),
    "SM": N_("Serious medical condition"),
    "SM-MI": N_("Mental illness"),
    "SM-MN": N_("Malnutrition"),
    "SM-DP": N_("Difficult pregnancy"),
    "SM-CI": N_("Chronic illness"),
    "FU": N_("Family unity"),
    "FU-TR": N_("Tracing required"),
    "FU-FR": N_("Reunification required"),
    "LP": N_("Legal and physical protection"),
    "LP-ND": N_("No legal documents"),
    "LP-BN": N_("Unmet basic needs"),
    "LP-MD": N_("Multiple displacements"),
    "LP-AN": N_("Violence, abuse or neglect"),
    "TR": N_("Torture"),
    "TR-PI": N_("Psychological or physical impairment due to torture"),
    "TR-WV": N_("Witness of violence to others"),
    "SV": N_("SGBV"),
    "SV-VA": N_("SGBV survivor in place of displacement"),
    "SV-VO": N_("SGBV survivor in place of origin"),
    "SV-FM": N_("Forced or early marriage"),
    "SV-SS": N_("Survival sex"),
    "SV-GM": N_("Female genital mutilation"),
}
# A child may head a household only when it is recorded as such.
CHILD_HEAD_CODES = frozenset({"SC-CH", "SC"})
ADULT_AGE = 18

SCHOOL_ATTENDANCE = {
    "yes": N_("Attends school"),
    "no": N_("Does not attend school"),
    "not_applicable": N_("Not of school age"),
}

DOCUMENTS = {
    "nina": N_("NINA card / national ID number"),
    "birth_certificate": N_("Birth certificate"),
    "passport": N_("Passport"),
    "voter_card": N_("Voter card"),
    "consular_card": N_("Consular card"),
    "other": N_("Other document"),
    "none": N_("No document"),
}

CONSENT_PURPOSES = {
    "registration": N_("Registration and assistance"),
    "data_sharing": N_("Sharing with named partner organisations"),
    "referral": N_("Referral to services"),
    "tracing": N_("Family tracing"),
    "contact": N_("Contact by phone"),
}

LAWFUL_BASES = {
    "consent": N_("Consent"),
    "vital_interest": N_("Vital interest"),
    "public_interest": N_("Public interest"),
    "legitimate_interest": N_("Legitimate interest"),
}

MOVEMENT_KINDS = {
    "displaced": N_("Displaced"),
    "returned": N_("Returned"),
    "re_displaced": N_("Re-displaced"),
    "relocated": N_("Relocated"),
}

NEEDS = {
    "shelter": N_("Shelter and rent"),
    "food": N_("Food"),
    "health": N_("Health care"),
    "education": N_("Education"),
    "wash": N_("Water, sanitation and hygiene"),
    "livelihoods": N_("Livelihoods"),
    "protection": N_("Protection"),
    "documentation": N_("Civil documentation"),
    "nfi": N_("Household items"),
    "psychosocial": N_("Psychosocial support"),
}
