"""Authorisation as data: permissions named `<domain>:<resource>:<action>`.

Roles map to permissions in the `role_permissions` table; the defaults below seed it and can
be changed there. An `Actor` is who is acting (a user, or the system for maintenance jobs),
with the permissions and organisation scope resolved once per request or command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from jatigi.core.errors import Forbidden
from jatigi.core.i18n import N_, _


class Permission(StrEnum):
    REGISTRY_HOUSEHOLD_READ = "registry:household:read"
    REGISTRY_HOUSEHOLD_READ_ALL = "registry:household:read_all"
    # Open sealed fields (phones, whereabouts) of households one's own organisation registered.
    REGISTRY_HOUSEHOLD_READ_SENSITIVE = "registry:household:read_sensitive"
    REGISTRY_HOUSEHOLD_WRITE = "registry:household:write"
    REGISTRY_HOUSEHOLD_DELETE = "registry:household:delete"
    REGISTRY_HOUSEHOLD_PURGE = "registry:household:purge"
    REGISTRY_IMPORT_RUN = "registry:import:run"
    REGISTRY_EXPORT_RUN = "registry:export:run"
    REGISTRY_SUMMARY_READ = "registry:summary:read"
    PLACES_ADMIN_UNIT_READ = "places:admin_unit:read"
    PLACES_ADMIN_UNIT_WRITE = "places:admin_unit:write"
    ACCOUNTS_USER_READ = "accounts:user:read"
    ACCOUNTS_USER_WRITE = "accounts:user:write"
    ACCOUNTS_ORGANISATION_WRITE = "accounts:organisation:write"
    ACCOUNTS_AGREEMENT_WRITE = "accounts:agreement:write"
    CORE_AUDIT_READ = "core:audit:read"
    # Score the registry for duplicates (`jatigi dedup run`), train its linkage model.
    DEDUP_RUN = "dedup:run:start"
    # Review the queue of possible duplicates: see pairs, confirm, reject, merge, unmerge.
    DEDUP_REVIEW = "dedup:pair:review"
    # Record and correct household assessments (food security, expenditure, coping).
    TARGETING_ASSESSMENT_WRITE = "targeting:assessment:write"
    # See vulnerability models, scoring runs, scores, explanations, simulations and fairness reports.
    TARGETING_RUN_READ = "targeting:run:read"
    # Score households and simulate selections (records a run).
    TARGETING_RUN = "targeting:run:start"
    # Write a new version of a vulnerability model.
    TARGETING_MODEL_WRITE = "targeting:model:write"
    # See programmes, their enrolled households, cycles, payments, coverage and monitoring.
    ASSISTANCE_PROGRAMME_READ = "assistance:programme:read"
    # Create and change programmes, enrol and exit households.
    ASSISTANCE_PROGRAMME_WRITE = "assistance:programme:write"
    # Prepare a cycle (holds and entitlements); cancel one not yet sent.
    ASSISTANCE_CYCLE_PREPARE = "assistance:cycle:prepare"
    # Approve or reject a cycle someone else prepared (four eyes).
    ASSISTANCE_CYCLE_APPROVE = "assistance:cycle:approve"
    # Export payment files (opens recipients' phone numbers) and mark a cycle sent.
    ASSISTANCE_PAYMENT_EXPORT = "assistance:payment:export"
    # Add or replace a payment provider's template (shared by every organisation): administrators.
    ASSISTANCE_PROVIDER_WRITE = "assistance:provider:write"
    # Apply a provider's report to a cycle; re-issue failed payments.
    ASSISTANCE_PAYMENT_RECONCILE = "assistance:payment:reconcile"
    # Import and see post-distribution monitoring.
    ASSISTANCE_MONITORING_WRITE = "assistance:monitoring:write"
    # Record complaints and feedback and handle those of the general queue.
    ASSISTANCE_COMPLAINT_WRITE = "assistance:complaint:write"
    # See and handle sensitive complaints (abuse, exploitation, protection risks): protection focal points.
    ASSISTANCE_COMPLAINT_SENSITIVE = "assistance:complaint:sensitive"
    # Open protection cases and work on those one is the caseworker of or that are shared with one.
    # Holding it is not enough to see a case: need to know (protection.policies) decides.
    PROTECTION_CASE_WRITE = "protection:case:write"
    # Supervise caseworkers: the cases one supervises, closure approval, sharing, reassignment,
    # consent overrides for referrals, and the review of who opened which case.
    PROTECTION_CASE_SUPERVISE = "protection:case:supervise"
    # Answer the referrals other organisations send to one's own (accept or decline).
    PROTECTION_REFERRAL_RECEIVE = "protection:referral:receive"
    # Ask for a missing relative to be traced, see and confirm possible matches.
    PROTECTION_TRACING_WRITE = "protection:tracing:write"
    # See the service directory (the referral pathway).
    PROTECTION_SERVICE_READ = "protection:service:read"
    # Keep the service directory up to date.
    PROTECTION_SERVICE_WRITE = "protection:service:write"
    # Record protection monitoring reports (incidents by area and type, no personal data).
    PROTECTION_MONITORING_WRITE = "protection:monitoring:write"
    # See protection statistics: aggregated, consented, with small cells suppressed.
    PROTECTION_STATISTICS_READ = "protection:statistics:read"


P = Permission

ROLE_LABELS: dict[str, str] = {
    "admin": N_("System administrator"),
    "im_officer": N_("Information management officer"),
    "registration_officer": N_("Registration officer"),
    "cash_officer": N_("Cash officer"),
    "protection_focal_point": N_("Protection focal point"),
    "caseworker": N_("Protection caseworker"),
    "protection_supervisor": N_("Protection supervisor"),
    "viewer": N_("Viewer"),
}

# Case work is need to know: not even a system administrator holds it by default.
CASE_WORK = frozenset({
    Permission.PROTECTION_CASE_WRITE,
    Permission.PROTECTION_CASE_SUPERVISE,
    Permission.PROTECTION_REFERRAL_RECEIVE,
    Permission.PROTECTION_TRACING_WRITE,
})
# Who holds one of these must sign in with a second factor (TOTP) and gets a short idle timeout.
SECOND_FACTOR_PERMISSIONS = CASE_WORK

DEFAULT_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission) - CASE_WORK,
    "im_officer": frozenset(
        {
            P.REGISTRY_HOUSEHOLD_READ,
            P.REGISTRY_HOUSEHOLD_READ_SENSITIVE,
            P.REGISTRY_HOUSEHOLD_WRITE,
            P.REGISTRY_HOUSEHOLD_DELETE,
            P.REGISTRY_IMPORT_RUN,
            P.REGISTRY_EXPORT_RUN,
            P.REGISTRY_SUMMARY_READ,
            P.PLACES_ADMIN_UNIT_READ,
            P.PLACES_ADMIN_UNIT_WRITE,
            P.ACCOUNTS_USER_READ,
            P.ACCOUNTS_AGREEMENT_WRITE,
            P.DEDUP_RUN,
            P.DEDUP_REVIEW,
            P.TARGETING_ASSESSMENT_WRITE,
            P.TARGETING_RUN_READ,
            P.TARGETING_RUN,
            P.TARGETING_MODEL_WRITE,
            P.ASSISTANCE_PROGRAMME_READ,
            P.PROTECTION_SERVICE_READ,
            P.PROTECTION_STATISTICS_READ,
        }
    ),
    "registration_officer": frozenset(
        {
            P.REGISTRY_HOUSEHOLD_READ,
            P.REGISTRY_HOUSEHOLD_READ_SENSITIVE,
            P.REGISTRY_HOUSEHOLD_WRITE,
            P.REGISTRY_IMPORT_RUN,
            P.REGISTRY_SUMMARY_READ,
            P.PLACES_ADMIN_UNIT_READ,
            P.TARGETING_ASSESSMENT_WRITE,
            P.TARGETING_RUN_READ,
        }
    ),
    # Runs programmes from preparation to reconciliation; a cycle still needs a second person to approve it.
    "cash_officer": frozenset(
        {
            P.REGISTRY_HOUSEHOLD_READ,
            P.REGISTRY_HOUSEHOLD_READ_SENSITIVE,
            P.REGISTRY_SUMMARY_READ,
            P.PLACES_ADMIN_UNIT_READ,
            P.TARGETING_RUN_READ,
            P.ASSISTANCE_PROGRAMME_READ,
            P.ASSISTANCE_PROGRAMME_WRITE,
            P.ASSISTANCE_CYCLE_PREPARE,
            P.ASSISTANCE_CYCLE_APPROVE,
            P.ASSISTANCE_PAYMENT_EXPORT,
            P.ASSISTANCE_PAYMENT_RECONCILE,
            P.ASSISTANCE_MONITORING_WRITE,
            P.ASSISTANCE_COMPLAINT_WRITE,
        }
    ),
    # Receives the complaints that reveal abuse, exploitation or a protection risk.
    "protection_focal_point": frozenset(
        {
            P.REGISTRY_SUMMARY_READ,
            P.PLACES_ADMIN_UNIT_READ,
            P.ASSISTANCE_COMPLAINT_WRITE,
            P.ASSISTANCE_COMPLAINT_SENSITIVE,
            P.PROTECTION_SERVICE_READ,
            P.PROTECTION_MONITORING_WRITE,
            P.PROTECTION_STATISTICS_READ,
        }
    ),
    # Takes cases from intake to closure: sees only its own cases and those shared with it.
    "caseworker": frozenset(
        {
            P.PLACES_ADMIN_UNIT_READ,
            P.PROTECTION_CASE_WRITE,
            P.PROTECTION_REFERRAL_RECEIVE,
            P.PROTECTION_TRACING_WRITE,
            P.PROTECTION_SERVICE_READ,
            P.PROTECTION_MONITORING_WRITE,
            P.PROTECTION_STATISTICS_READ,
        }
    ),
    # Supervises caseworkers of its organisation: approves closures, shares, reviews access.
    "protection_supervisor": frozenset(
        {
            P.PLACES_ADMIN_UNIT_READ,
            P.PROTECTION_CASE_WRITE,
            P.PROTECTION_CASE_SUPERVISE,
            P.PROTECTION_REFERRAL_RECEIVE,
            P.PROTECTION_TRACING_WRITE,
            P.PROTECTION_SERVICE_READ,
            P.PROTECTION_SERVICE_WRITE,
            P.PROTECTION_MONITORING_WRITE,
            P.PROTECTION_STATISTICS_READ,
        }
    ),
    "viewer": frozenset({P.REGISTRY_SUMMARY_READ, P.PLACES_ADMIN_UNIT_READ, P.PROTECTION_SERVICE_READ}),
}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    org_id: int | None
    permissions: frozenset[str] = field(default_factory=frozenset)
    # Organisations whose households this actor may see: its own and those sharing with it.
    visible_org_ids: frozenset[int] = field(default_factory=frozenset)
    ip: str | None = None
    language: str = "fr"

    def can(self, permission: Permission | str) -> bool:
        return str(permission) in self.permissions

    def require(self, permission: Permission | str) -> None:
        if not self.can(permission):
            raise Forbidden(_("You do not have the permission {permission}.", permission=str(permission)))

    def acts_for(self, org_id: int | None) -> bool:
        """Whether this actor may act on records of that organisation: its own, or any for a
        system administrator."""
        return self.sees_all or (org_id is not None and org_id == self.org_id)

    @property
    def sees_all(self) -> bool:
        return self.can(Permission.REGISTRY_HOUSEHOLD_READ_ALL)


SYSTEM = Actor(user_id=None, username="system", org_id=None, permissions=frozenset(Permission))
