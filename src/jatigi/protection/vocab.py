"""Code lists of protection case management, with their translatable labels.

The GBV classification follows the GBVIMS: six core incident types and the incident recorder's
fields (place, time of day, displacement stage, perpetrators, referral source). Codes are what is
stored and exported; labels are what people read.
"""

from __future__ import annotations

from jatigi.core.i18n import N_

CASE_TYPES = {
    "gbv": N_("Gender-based violence"),
    "child_protection": N_("Child protection"),
    "tracing": N_("Separated family / tracing"),
    "general": N_("General protection"),
}

# open → closure_requested → closed (a supervisor approves) → open again (reopened).
CASE_STATES = {
    "open": N_("In progress"),  # not "Open": that msgid is the verb ("Ouvrir") in French
    "closure_requested": N_("Closure requested"),
    "closed": N_("Closed"),
}
CASE_MOVES = {
    "open": {"closure_requested", "closed"},
    "closure_requested": {"open", "closed"},
    "closed": {"open"},
}

CASE_STAGES = {
    "intake": N_("Intake"),
    "assessment": N_("Assessment"),
    "case_plan": N_("Case plan"),
    "implementation": N_("Services and implementation"),
    "follow_up": N_("Follow-up"),
}

RISK_LEVELS = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "critical": N_("Critical: act today"),
}

CLOSURE_REASONS = {
    "goals_met": N_("Case plan goals met"),
    "survivor_request": N_("At the survivor's request"),
    "moved": N_("Survivor moved or left the area"),
    "referred_closed": N_("Transferred to another organisation"),
    "lost_contact": N_("Contact lost"),
    "reunified": N_("Family reunified"),
    "deceased": N_("Deceased"),
}

SEXES = {"f": N_("Female"), "m": N_("Male"), "unknown": N_("Unknown")}

# Age groups of GBVIMS statistics (at the incident; at intake for a case).
AGE_GROUPS = {
    "0-11": N_("0 to 11 years"),
    "12-17": N_("12 to 17 years"),
    "18-59": N_("18 to 59 years"),
    "60+": N_("60 years and over"),
    "unknown": N_("Unknown"),
}

# The six GBVIMS core incident types.
GBV_TYPES = {
    "rape": N_("Rape"),
    "sexual_assault": N_("Sexual assault"),
    "physical_assault": N_("Physical assault"),
    "forced_marriage": N_("Forced marriage"),
    "denial_of_resources": N_("Denial of resources, opportunities or services"),
    "psychological_abuse": N_("Psychological or emotional abuse"),
}

PLACE_TYPES = {
    "home_survivor": N_("Survivor's home"),
    "home_perpetrator": N_("Perpetrator's home"),
    "host_home": N_("Host family's home"),
    "street": N_("Road or street"),
    "market": N_("Market"),
    "school": N_("School"),
    "workplace": N_("Workplace"),
    "field_bush": N_("Field or bush"),
    "water_point": N_("Water point or latrine"),
    "checkpoint": N_("Checkpoint"),
    "other": N_("Other"),
}

TIMES_OF_DAY = {
    "morning": N_("Morning"),
    "afternoon": N_("Afternoon"),
    "evening_night": N_("Evening or night"),
    "unknown": N_("Unknown"),
}

DISPLACEMENT_STAGES = {
    "not_displaced": N_("Not displaced / host community"),
    "pre_displacement": N_("Before displacement"),
    "during_flight": N_("During flight"),
    "during_displacement": N_("During displacement"),
    "during_return": N_("During return or transit"),
    "after_return": N_("After return"),
}

MARITAL_STATUSES = {
    "single": N_("Single"),
    "married": N_("Married or cohabiting"),
    "divorced": N_("Divorced or separated"),
    "widowed": N_("Widowed"),
    "unknown": N_("Unknown"),
}

PERPETRATOR_COUNTS = {"1": N_("One"), "2": N_("Two"), "3": N_("Three"), "more": N_("More than three"),
                      "unknown": N_("Unknown")}

PERPETRATOR_AGE_GROUPS = {
    "0-11": N_("0 to 11 years"),
    "12-17": N_("12 to 17 years"),
    "18-25": N_("18 to 25 years"),
    "26-40": N_("26 to 40 years"),
    "41-60": N_("41 to 60 years"),
    "61+": N_("61 years and over"),
    "unknown": N_("Unknown"),
}

PERPETRATOR_RELATIONSHIPS = {
    "intimate_partner": N_("Intimate partner or former partner"),
    "family": N_("Family member other than a spouse"),
    "host_family": N_("Member of the host family"),
    "landlord": N_("Landlord"),
    "employer": N_("Employer"),
    "teacher": N_("Teacher or school official"),
    "service_provider": N_("Service provider or aid worker"),
    "community": N_("Other member of the community"),
    "armed_actor": N_("Armed actor"),
    "stranger": N_("Stranger"),
    "unknown": N_("Unknown"),
}

PERPETRATOR_OCCUPATIONS = {
    "none": N_("No occupation"),
    "farmer_herder": N_("Farmer or herder"),
    "trader": N_("Trader"),
    "civil_servant": N_("Civil servant"),
    "security_forces": N_("Security or armed forces"),
    "armed_group": N_("Member of an armed group"),
    "humanitarian": N_("Humanitarian or UN worker"),
    "religious_leader": N_("Religious or community leader"),
    "student": N_("Student"),
    "other": N_("Other"),
    "unknown": N_("Unknown"),
}

REFERRAL_SOURCES = {
    "self": N_("Survivor came on her or his own"),
    "family": N_("Family or friend"),
    "health": N_("Health service"),
    "psychosocial": N_("Psychosocial service"),
    "police": N_("Police or security"),
    "legal": N_("Legal aid"),
    "community": N_("Community leader or group"),
    "humanitarian": N_("Other humanitarian organisation"),
    "other": N_("Other"),
}

CONSENT_PURPOSES = {
    "services": N_("Receiving services from this organisation"),
    "referral": N_("Referral to a named organisation"),
    "reporting": N_("Counting in anonymous statistics (reporting)"),
    "tracing": N_("Sharing for family tracing"),
}

LAWFUL_BASES = {
    "consent": N_("Consent"),
    "vital_interest": N_("Vital interest of the person"),
    "best_interest": N_("Best interests of the child"),
    "legal_obligation": N_("Legal obligation"),
    "public_interest": N_("Public interest (humanitarian mandate)"),
}

CONSENT_GIVERS = {
    "survivor": N_("The survivor"),
    "caregiver": N_("A parent or caregiver (child)"),
    "child_assent": N_("The child, with a caregiver"),
}

ENTRY_KINDS = {
    "assessment": N_("Assessment"),
    "plan": N_("Case plan action"),
    "service": N_("Service given"),
    "follow_up": N_("Follow-up"),
    "note": N_("Note"),
}

ENTRY_STATUSES = {
    "open": N_("To do"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
}

SERVICE_TYPES = {
    "medical": N_("Medical care (clinical management of rape)"),
    "psychosocial": N_("Psychosocial support"),
    "legal": N_("Legal aid"),
    "safe_shelter": N_("Safe shelter"),
    "livelihoods": N_("Livelihoods and economic support"),
    "education": N_("Education"),
    "security": N_("Safety and security"),
    "tracing": N_("Family tracing and reunification"),
}

REFERRAL_STATES = {
    "sent": N_("Sent, waiting for an answer"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "completed": N_("Service given"),
    "withdrawn": N_("Withdrawn"),
}
REFERRAL_MOVES = {
    "sent": {"accepted", "declined", "withdrawn"},
    "accepted": {"completed", "withdrawn"},
    "declined": set(),
    "completed": set(),
    "withdrawn": set(),
}

REFERRAL_OUTCOMES = {
    "service_given": N_("Service given"),
    "partly_given": N_("Service partly given"),
    "not_reached": N_("The survivor could not be reached"),
    "refused_by_survivor": N_("The survivor declined the service"),
    "not_available": N_("Service not available"),
}

TRACING_STATES = {
    "open": N_("Searching"),
    "matched": N_("Match confirmed"),
    "reunified": N_("Reunified"),
    "closed": N_("Closed"),
}

MATCH_STATES = {
    "proposed": N_("To check"),
    "confirmed": N_("Confirmed"),
    "rejected": N_("Not the person"),
}

TRACING_RELATIONSHIPS = {
    "child": N_("Son or daughter"),
    "parent": N_("Father or mother"),
    "spouse": N_("Spouse"),
    "sibling": N_("Brother or sister"),
    "grandparent": N_("Grandparent"),
    "other_relative": N_("Other relative"),
}

MONITORING_TYPES = {
    **{f"gbv_{code}": label for code, label in GBV_TYPES.items()},
    "child_recruitment": N_("Recruitment or use of children"),
    "child_labour": N_("Child labour"),
    "early_marriage": N_("Early marriage"),
    "survival_sex": N_("Sex for survival"),
    "family_separation": N_("Family separation"),
    "forced_eviction": N_("Forced eviction"),
    "forced_return": N_("Forced or pressured return"),
    "arbitrary_arrest": N_("Arbitrary arrest or detention"),
    "extortion_theft": N_("Extortion or theft"),
    "denial_of_documents": N_("Denial of civil documents"),
    "denial_of_services": N_("Denial of access to services"),
    "killing_injury": N_("Killing or injury"),
    "explosive_hazard": N_("Explosive hazard"),
}

MONITORING_SOURCES = {
    "key_informant": N_("Key informant"),
    "focus_group": N_("Focus group discussion"),
    "observation": N_("Direct observation"),
    "household_visit": N_("Household visit"),
    "hotline": N_("Hotline"),
    "partner": N_("Partner organisation"),
}
