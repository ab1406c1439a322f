"""Code lists of cash assistance, with their translatable labels, and the states each record moves through.

The codes are what is stored, imported and exported; the labels are what people read.
"""

from __future__ import annotations

from jatigi.core.i18n import N_

# The currency of every amount: the CFA franc of West Africa (ISO 4217 XOF), written FCFA in Mali.
CURRENCY = "XOF"
CURRENCY_LABEL = "FCFA"

SECTORS = {
    "multipurpose": N_("Multipurpose cash"),
    "food": N_("Food"),
    "shelter": N_("Shelter and rent"),
    "health": N_("Health care"),
    "education": N_("Education"),
    "livelihoods": N_("Livelihoods"),
    "protection": N_("Protection"),
    "wash": N_("Water, sanitation and hygiene"),
    "nfi": N_("Household items"),
}

MODALITIES = {
    "mobile_money": N_("Mobile money"),
    "cash_in_hand": N_("Cash in hand"),
    "voucher": N_("Voucher"),
    "in_kind": N_("In kind"),
}

# --- States ---------------------------------------------------------------------------------------
# Each kind of record has its states and the moves allowed between them (see assistance.states).

PROGRAMME_STATES = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
PROGRAMME_MOVES = {
    "draft": ("active", "cancelled"),
    "active": ("closed", "cancelled"),
    "closed": (),
    "cancelled": (),
}

CYCLE_STATES = {
    "draft": N_("Draft"),
    "prepared": N_("Prepared"),
    "rejected": N_("Rejected"),
    "approved": N_("Approved"),
    "sent": N_("Sent to the provider"),
    "reconciled": N_("Reconciled"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
CYCLE_MOVES = {
    "draft": ("prepared", "cancelled"),
    "prepared": ("approved", "rejected", "cancelled"),
    "rejected": ("prepared", "cancelled"),  # prepared again, replacing the rejected lines
    "approved": ("sent", "rejected", "cancelled"),  # locked: nothing in it changes, but it may be sent back
    "sent": ("reconciled",),
    "reconciled": ("reconciled", "closed"),  # a later report (unclaimed cash collected) reconciles again
    "closed": (),
    "cancelled": (),
}

PAYMENT_STATES = {
    "held": N_("Held"),
    "due": N_("Due"),
    "sent": N_("Sent"),
    "paid": N_("Paid"),
    "failed": N_("Failed"),
    "unclaimed": N_("Unclaimed"),
    "reissued": N_("Re-issued in a later cycle"),
    "cancelled": N_("Cancelled"),
}
PAYMENT_MOVES = {
    "held": (),
    "due": ("sent", "cancelled"),
    "sent": ("paid", "failed", "unclaimed", "cancelled"),
    "paid": (),
    "failed": ("reissued",),
    "unclaimed": ("paid", "reissued"),
    "reissued": (),
    "cancelled": (),
}
# Payments whose money has gone or may still go to the household: a household with one of these for
# the same purpose and period in another programme is held ("assisted elsewhere").
PAYMENT_LIVE = ("due", "sent", "paid", "unclaimed")

# Why an enrolled household gets no payment in a cycle.
HOLD_REASONS = {
    "possible_duplicate": N_("Possible duplicate awaiting review"),
    "duplicate": N_("Registered twice: paid under the other registration"),
    "no_recipient": N_("No living adult member to receive it"),
    "deceased": N_("Recipient deceased"),
    "moved_away": N_("Moved away from the programme area"),
    "assisted_elsewhere": N_("Already assisted for the same purpose and period"),
    "deleted": N_("Removed from the registry"),
    "no_phone": N_("No mobile-money number"),
    "zero_amount": N_("Entitlement of zero"),
}

ENROLMENT_SOURCES = {
    "run": N_("A scoring run"),
    "list": N_("A list of households"),
    "manual": N_("Added one by one"),
}

PROVIDER_KINDS = {
    "mobile_money": N_("Mobile-money operator"),
    "cash_list": N_("Cash-in-hand distribution list"),
}

# --- Post-distribution monitoring -------------------------------------------------------------------

PDM_SPENDING = {
    "food": N_("Food"),
    "rent": N_("Rent"),
    "health": N_("Health care"),
    "education": N_("Education"),
    "debt": N_("Paying back debts"),
    "livelihoods": N_("Livelihoods"),
    "hygiene": N_("Hygiene items"),
    "transport": N_("Transport"),
    "other": N_("Other"),
}

# --- Complaints and feedback ----------------------------------------------------------------------

CHANNELS = {
    "hotline": N_("Hotline"),
    "help_desk": N_("Help desk"),
    "sms": N_("SMS"),
    "community_meeting": N_("Community meeting"),
    "suggestion_box": N_("Suggestion box"),
    "visit": N_("Home or office visit"),
}

COMPLAINT_CATEGORIES = {
    "information": N_("Request for information"),
    "selection": N_("Selection or exclusion"),
    "not_received": N_("Payment not received"),
    "wrong_amount": N_("Wrong amount"),
    "late": N_("Late payment"),
    "registration_data": N_("Registration data to correct"),
    "provider_service": N_("Service of the provider or agent"),
    "fraud": N_("Fraud or diversion"),
    "staff_misconduct": N_("Misconduct of staff or agents"),
    "sexual_exploitation": N_("Sexual exploitation or abuse"),
    "protection_risk": N_("Protection risk (violence, threats, safety)"),
    "thanks": N_("Thanks or positive feedback"),
    "other": N_("Other"),
}
# Complaints of these categories go confidentially to the protection focal point, out of the
# general queue; any complaint can also be marked sensitive by whoever records it.
SENSITIVE_CATEGORIES = frozenset({"sexual_exploitation", "protection_risk", "staff_misconduct"})

PRIORITIES = {
    "high": N_("High"),
    "medium": N_("Medium"),
    "low": N_("Low"),
}
# Days to respond, by priority.
RESPONSE_DAYS = {"high": 2, "medium": 7, "low": 14}

COMPLAINT_STATES = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
COMPLAINT_MOVES = {
    "open": ("in_progress", "resolved"),
    "in_progress": ("resolved",),
    "resolved": ("closed", "in_progress"),  # reopened when the complainant is not satisfied
    "closed": (),
}
