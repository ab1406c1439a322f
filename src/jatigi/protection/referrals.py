"""Referrals: a case referred to a service of another (or the same) organisation.

A referral is sent only with the survivor's consent to a referral to THAT organisation
(`consent.active_consent(…, "referral", organisation)`), or — when the case's supervisor decides
it cannot wait — without it, with the reason (recorded and audited as an override).

What the receiving organisation may read is the shared summary, sealed under the referral's own
data key: the survivor code (never the name, unless the caseworker shares the name and contact,
which needs the consent), the service needed, the urgency, the contact safety the survivor chose
and a short note. Never the case file: the receiving side answers (accepts or declines, then
marks the service given with an outcome) without ever seeing the case.

Every read and write is audited on the case (entity "protection_case", the case id), so that the
supervisor's review of the case finds it. A referral one may not see is answered like one that
does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation, User
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, FieldsInvalid, Forbidden, NotFound
from jatigi.core.i18n import N_, _, day
from jatigi.places.service import names_of
from jatigi.protection import policies, vocab
from jatigi.protection import services as svc
from jatigi.protection.consent import active_consent
from jatigi.protection.models import Consent, ProtectionCase, Referral, Service
from jatigi.protection.sealing import key_for, open_json, open_text, opened_key, require_key, seal_json

ENTITY = "protection_case"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
CODE_LENGTH = 6
MIN_OVERRIDE = 15
MAX_OVERRIDE = 500
MAX_NOTE = 1000
PAGE_SIZE = 50
OPEN_STATES = ("sent", "accepted")
LABELS = {
    "service": N_("Service"),
    "organisation": N_("Organisation"),
    "service_type": N_("Type of service"),
    "note": N_("Note for the receiving organisation"),
    "share_identity": N_("Share the name and contact"),
    "override_reason": N_("Reason to send it without consent"),
    "outcome": N_("Outcome"),
    "state": N_("State"),
}




class ReferralInvalid(FieldsInvalid):
    """A referral or an answer with problems, each with its field: nothing was written."""

    labels = LABELS


label = ReferralInvalid.label


def not_found(ref: object) -> NotFound:
    """The one answer for a referral that does not exist and one that may not be seen."""
    return NotFound(_("No referral {ref} that you may see.", ref=str(ref).strip()[:40]))


def _new_code(session: Session) -> str:
    for _attempt in range(20):
        code = "REF-" + "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
        if session.scalar(sa.select(Referral.id).where(Referral.code == code)) is None:
            return code
    raise Conflict(_("No free referral code was found; try again."))


def _org(session: Session, org_id: int | None) -> Organisation | None:
    return session.get(Organisation, org_id) if org_id is not None else None


def _org_label(org: Organisation | None) -> str:
    return f"{org.acronym} ({org.name})" if org else "—"


# ---- sending -----------------------------------------------------------------------------------


@dataclass
class NewReferral:
    """A referral as asked: a service of the directory, or an organisation and a type of service."""

    service_id: int | None = None
    organisation: str = ""  # an organisation's acronym, when no service is chosen
    service_type: str = ""
    urgent: bool = False
    note: str = ""
    share_identity: bool = False
    override_reason: str = ""


def _withdrawn_on(session: Session, case_id: int, org_id: int) -> datetime | None:
    latest = session.scalar(sa.select(Consent).where(Consent.case_id == case_id, Consent.purpose == "referral",
                                                     Consent.organisation_id == org_id)
                            .order_by(Consent.recorded_at.desc(), Consent.id.desc()).limit(1))
    return latest.withdrawn_at if latest is not None else None


def _missing_consent(session: Session, case: ProtectionCase, org: Organisation) -> str:
    withdrawn = _withdrawn_on(session, case.id, org.id)
    if withdrawn is not None:
        return _("The survivor withdrew the consent to a referral to {org} on {day}: no referral can be sent "
                 "to {org}.", org=_org_label(org), day=day(withdrawn))
    return _("No consent of the survivor to a referral to {org}: record it on the case first. Consent to "
             "another organisation does not count.", org=_org_label(org))


def _target(session: Session, new: NewReferral,
            problems: list[tuple[str, str]]) -> tuple[Service | None, Organisation | None, str]:
    """The service (if one was chosen), the receiving organisation and the type of service."""
    if new.service_id is not None:
        service = session.get(Service, new.service_id)
        if service is None or not service.active:
            problems.append(("service", _("No active service {n} in the directory.", n=new.service_id)))
            return None, None, ""
        if service.organisation_id is None:
            problems.append(("service", _("{provider} does not use Jatigi: contact it directly ({phone}). A referral "
                                          "in Jatigi goes to an organisation that uses it.",
                                          provider=service.provider_name, phone=service.phone or "—")))
            return service, None, service.service_type
        return service, _org(session, service.organisation_id), service.service_type
    org = None
    if not new.organisation.strip():
        problems.append(("service", _("Choose a service of the directory, or an organisation and a type of "
                                      "service.")))
    else:
        org = session.scalar(sa.select(Organisation).where(
            sa.func.upper(Organisation.acronym) == new.organisation.strip().upper()))
        if org is None:
            problems.append(("organisation", _("No organisation {value} uses Jatigi.",
                                               value=new.organisation.strip()[:40])))
    if new.service_type not in vocab.SERVICE_TYPES:
        problems.append(("service_type", _("Unknown type of service; accepted: {accepted}.",
                                           accepted=", ".join(vocab.SERVICE_TYPES))))
    return None, org, new.service_type


def _person_name(person: dict[str, Any]) -> str:
    return str(person.get("name") or " ".join(str(p) for p in (person.get("given_name"), person.get("family_name"))
                                              if p))


def _shared_summary(session: Session, case: ProtectionCase, service_type: str, new: NewReferral) -> dict[str, Any]:
    key = require_key(opened_key(session, case))
    contact = open_json(key, "contact_sealed", case.contact_sealed)
    shared: dict[str, Any] = {
        "survivor_code": case.survivor_code, "service_type": service_type, "urgent": new.urgent,
        "note": new.note.strip(),
        "contact": {k: contact.get(k) for k in ("may_call", "call_when", "ask_for", "notes", "safe_name")
                    if contact.get(k) not in (None, "")},
    }
    if new.share_identity:
        person = open_json(key, "person_sealed", case.person_sealed)
        shared["name"] = _person_name(person)
        shared["phone"] = person.get("phone") or ""
        shared["address"] = person.get("address") or ""
    return shared


def _lock_case(session: Session, case: ProtectionCase) -> None:
    """Two sends of the same form at once wait for each other (PostgreSQL; SQLite writes one at a time)."""
    session.execute(sa.select(ProtectionCase.id).where(ProtectionCase.id == case.id).with_for_update())


def open_referral(session: Session, case: ProtectionCase, org_id: int, service_type: str) -> str | None:
    """The code of a referral of the case to that organisation for that type of service still open, if any."""
    return session.scalar(sa.select(Referral.code).where(
        Referral.case_id == case.id, Referral.to_org_id == org_id, Referral.service_type == service_type,
        Referral.state.in_(OPEN_STATES)).order_by(Referral.id).limit(1))


def send_referral(session: Session, actor: Actor, case: ProtectionCase, new: NewReferral) -> Referral:
    """Refer a case (its caseworker or supervisor): only with the survivor's consent to a referral to the
    receiving organisation, or by the case's supervisor without it, with the reason (an audited override)."""
    policies.require_case_writer(actor, case)
    if case.anonymised_at is not None:
        raise Conflict(_("This record was anonymised after its retention period: nothing of it can be changed."))
    if case.state == "closed":
        raise Conflict(_("Case {code} is closed: reopen it before referring it.", code=case.code))
    problems: list[tuple[str, str]] = []
    service, org, service_type = _target(session, new, problems)
    note = new.note.strip()
    if len(note) > MAX_NOTE:
        problems.append(("note", _("At most {n} characters.", n=MAX_NOTE)))
    reason = new.override_reason.strip()
    consent = active_consent(session, case.id, "referral", org.id) if org is not None else None
    if org is not None and consent is None:
        if not reason:
            problems.append(("service" if service is not None else "organisation",
                             _missing_consent(session, case, org)))
        else:
            policies.require_supervisor(actor, case)
            if len(reason) < MIN_OVERRIDE:
                problems.append(("override_reason", _("Say why it cannot wait for consent, in at least {n} "
                                                      "characters.", n=MIN_OVERRIDE)))
            elif len(reason) > MAX_OVERRIDE:
                problems.append(("override_reason", _("At most {n} characters.", n=MAX_OVERRIDE)))
        if new.share_identity:
            problems.append(("share_identity", _("The name and contact may be shared only with the survivor's "
                                                 "consent to a referral to {org}.", org=_org_label(org))))
    if org is not None and service_type:
        _lock_case(session, case)
        still_open = open_referral(session, case, org.id, service_type)
        if still_open is not None:
            problems.append(("service" if service is not None else "organisation", _(
                "Referral {code} of this case to {org} for this type of service is still open: wait for its answer, "
                "or withdraw it before sending another.", code=still_open, org=_org_label(org))))
    if problems:
        raise ReferralInvalid(problems)
    assert org is not None
    override = consent is None
    referral = Referral(code=_new_code(session), case_id=case.id, from_org_id=case.org_id, to_org_id=org.id,
                        service_id=service.id if service else None, service_type=service_type, state="sent",
                        urgent=new.urgent, consent_id=consent.id if consent else None,
                        override_by=actor.user_id if override else None, sent_at=utcnow(),
                        sent_by=actor.user_id)
    key = key_for(session, referral)
    referral.shared_sealed = seal_json(key, "shared_sealed", _shared_summary(session, case, service_type, new))
    if override:
        referral.override_reason_sealed = key.seal("override_reason_sealed", reason)
    session.add(referral)
    session.flush()
    detail = {"referral": referral.code, "to_org_id": org.id, "service_id": referral.service_id,
              "service_type": service_type, "urgent": new.urgent, "consent_id": referral.consent_id,
              "override": override, "identity_shared": new.share_identity}
    audit.record(session, actor, "protection.referral.send", ENTITY, case.id, detail)
    if override:
        audit.record(session, actor, "protection.referral.override", ENTITY, case.id,
                     {"referral": referral.code, "to_org_id": org.id, "reason_length": len(reason)})
    return referral


# ---- who sees a referral -------------------------------------------------------------------------


def is_receiver(actor: Actor, referral: Referral) -> bool:
    return actor.can(Permission.PROTECTION_REFERRAL_RECEIVE) and actor.org_id == referral.to_org_id


def knows_case(session: Session, actor: Actor, case_id: int) -> bool:
    """Whether the actor needs to know the case (its caseworker, supervisor, or shared with)."""
    return session.scalar(sa.select(ProtectionCase.id).where(ProtectionCase.id == case_id,
                                                             *policies.visible_cases(actor))) is not None


def is_sender(session: Session, actor: Actor, referral: Referral) -> bool:
    return knows_case(session, actor, referral.case_id)


def consent_ended(session: Session, referral: Referral) -> bool:
    """Sent with consent, and the latest consent to a referral to that organisation no longer holds; or
    sent without (a supervisor's override), and the survivor has since refused or withdrawn it."""
    if referral.to_org_id is None:
        return False
    if referral.consent_id is not None:
        return active_consent(session, referral.case_id, "referral", referral.to_org_id) is None
    said_no = sa.select(Consent.id).where(
        Consent.case_id == referral.case_id, Consent.purpose == "referral",
        Consent.organisation_id == referral.to_org_id,
        sa.or_(sa.and_(Consent.granted.is_(False), Consent.recorded_at >= referral.sent_at),
               Consent.withdrawn_at >= referral.sent_at))
    return session.scalar(said_no.limit(1)) is not None


def is_named_receiver(actor: Actor, referral: Referral) -> bool:
    """The receiver who accepted the referral: from then on the only one of the receiving side to read it."""
    return (is_receiver(actor, referral) and referral.responded_by == actor.user_id
            and referral.state in ("accepted", "completed"))


def reads_summary(session: Session, actor: Actor, referral: Referral) -> bool:
    """Who reads the shared summary: the case's caseworker and supervisor, and the named receiver once the
    referral is accepted — unless it was withdrawn or its consent ended."""
    case = session.get(ProtectionCase, referral.case_id)
    if case is not None and knows_case(session, actor, case.id) and (
            policies.is_caseworker(actor, case) or policies.is_supervisor(actor, case)):
        return True
    return is_named_receiver(actor, referral) and not consent_ended(session, referral)


def ended_message() -> str:
    """The receiving side's one message for a referral withdrawn or whose consent ended: it tells which not."""
    return _("This referral was withdrawn or its consent ended: it can no longer be accepted or completed, and "
             "what was shared is no longer shown.")


def get_referral(session: Session, actor: Actor, ref: object) -> Referral:
    """A referral by its code (REF-…), if the actor may see it; else NotFound (never Forbidden)."""
    code = policies.normal_code(ref)
    if code is None:
        raise not_found(ref)
    referral = session.scalar(sa.select(Referral).where(Referral.code == code, *policies.visible_referrals(actor)))
    if referral is None:
        raise not_found(ref)
    return referral


@dataclass(frozen=True)
class ReferralView:
    referral: Referral
    case_code: str | None  # only for the sending side, who knows the case
    from_org: str
    to_org: str
    service: Service | None
    shared: dict[str, Any]
    response: dict[str, Any]
    sender: bool
    receiver: bool
    consent_active: bool | None  # for the sending side: does the consent still hold?
    area_name: str | None  # where the case is (region, cercle or commune), to decide
    identity_shared: bool  # whether the name and contact are (or will be) shared
    accepted_by: str | None  # the named receiver
    ended: bool  # receiving side: withdrawn, or its consent ended
    hidden_note: str | None  # why the shared summary is not shown
    override_by: str | None
    override_reason: str | None  # why the supervisor sent it without consent
    moves: frozenset[str]

    named_receiver: bool = False

    @property
    def may_accept(self) -> bool:
        return self.receiver and not self.ended and "accepted" in self.moves

    @property
    def may_decline(self) -> bool:
        return self.receiver and "declined" in self.moves

    @property
    def may_complete(self) -> bool:
        return self.named_receiver and not self.ended and "completed" in self.moves

    @property
    def may_withdraw(self) -> bool:
        return self.sender and "withdrawn" in self.moves


def _user_name(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(sa.select(User.full_name).where(User.id == user_id))


def _hidden_note(session: Session, referral: Referral, sender: bool, ended: bool) -> str:
    if ended:
        return ended_message()
    if sender:
        return _("What was shared is shown to the case's caseworker and supervisor only.")
    if referral.state == "sent":
        return _("What was shared (the survivor's details and safety instructions) is shown to the person who "
                 "accepts the referral.")
    if referral.state in ("accepted", "completed"):
        return _("Only {name}, who accepted the referral, reads what was shared.",
                 name=_user_name(session, referral.responded_by) or "—")
    return _("The referral was declined: what was shared is not shown.")


def view_referral(session: Session, actor: Actor, ref: object) -> ReferralView:
    """A referral with what the actor may read of it; the read is audited on the case.

    Before it is accepted, the receiving organisation's receivers read only what they need to decide (the
    code, type of service, urgency, area, sending organisation, date and whether the identity is shared);
    once accepted, only the one who accepted it (and the case's caseworker and supervisor) reads the shared
    summary — the other receivers see its state. Withdrawn, or its consent ended: the receiving side reads
    nothing more and cannot accept or complete it."""
    referral = get_referral(session, actor, ref)
    sender = is_sender(session, actor, referral)
    receiver = is_receiver(actor, referral)
    named = is_named_receiver(actor, referral)
    key = opened_key(session, referral)
    full = open_json(key, "shared_sealed", referral.shared_sealed)
    ended = not sender and (referral.state == "withdrawn" or consent_ended(session, referral))
    reads = reads_summary(session, actor, referral) and not ended
    shared = full if reads else {}
    response = open_json(key, "response_sealed", referral.response_sealed) if (sender or named) else {}
    case = session.get(ProtectionCase, referral.case_id)
    case_code = None
    consent_active = None
    if sender:
        case_code = case.code if case is not None else None
        if referral.to_org_id is not None:
            consent_active = active_consent(session, referral.case_id, "referral", referral.to_org_id) is not None
    area = case.area_pcode if case is not None else None
    area_name = f"{names_of(session=session, pcodes=[area]).get(area, area)} ({area})" if area else None
    audit.record(session, actor, "protection.referral.read", ENTITY, referral.case_id,
                 {"referral": referral.code, "side": "sent" if sender else "received", "summary": reads})
    return ReferralView(referral=referral, case_code=case_code, from_org=_org_label(_org(session, referral.from_org_id)),
                        to_org=_org_label(_org(session, referral.to_org_id)),
                        service=session.get(Service, referral.service_id) if referral.service_id else None,
                        shared=shared, response=response, sender=sender, receiver=receiver,
                        consent_active=consent_active, override_by=_user_name(session, referral.override_by),
                        override_reason=open_text(key, "override_reason_sealed", referral.override_reason_sealed)
                        if sender else None,
                        moves=frozenset(vocab.REFERRAL_MOVES.get(referral.state, set())), area_name=area_name,
                        identity_shared=bool(full.get("name")),
                        accepted_by=_user_name(session, referral.responded_by) if referral.state in (
                            "accepted", "completed") else None,
                        ended=ended, hidden_note=None if reads else _hidden_note(session, referral, sender, ended),
                        named_receiver=named)


# ---- answering ---------------------------------------------------------------------------------


def _move(session: Session, actor: Actor, referral: Referral, to: str, entry: dict[str, Any], action: str) -> Referral:
    if to not in vocab.REFERRAL_MOVES.get(referral.state, set()):
        raise Conflict(_("Referral {code} is {state}: it cannot become {to}.", code=referral.code,
                         state=_(vocab.REFERRAL_STATES[referral.state]).lower(),
                         to=_(vocab.REFERRAL_STATES[to]).lower()))
    key = require_key(opened_key(session, referral))
    response = open_json(key, "response_sealed", referral.response_sealed)
    response[to] = {**{k: v for k, v in entry.items() if v not in ("", None)}, "at": utcnow().isoformat(timespec="seconds"),
                    "by": actor.username}
    referral.response_sealed = seal_json(key, "response_sealed", response)
    referral.state = to
    if to in ("accepted", "declined"):
        referral.responded_at = utcnow()
        referral.responded_by = actor.user_id
    session.flush()
    audit.record(session, actor, action, ENTITY, referral.case_id,
                 {"referral": referral.code, "state": to, "outcome": referral.outcome})
    return referral


def _for_answer(session: Session, actor: Actor, ref: object) -> Referral:
    referral = get_referral(session, actor, ref)
    if not is_receiver(actor, referral):
        raise Forbidden(_("Only the organisation referral {code} was sent to may answer it.", code=referral.code))
    return referral


def _note(note: str, required: bool = False) -> str:
    text = (note or "").strip()
    if required and not text:
        raise ReferralInvalid([("note", _("Say why, for the caseworker who sent it."))])
    if len(text) > MAX_NOTE:
        raise ReferralInvalid([("note", _("At most {n} characters.", n=MAX_NOTE))])
    return text


def _not_ended(session: Session, referral: Referral) -> None:
    if referral.state == "withdrawn" or consent_ended(session, referral):
        raise Conflict(ended_message())


def accept_referral(session: Session, actor: Actor, ref: object, note: str = "") -> Referral:
    """A receiver of the receiving organisation takes the referral, and becomes its named receiver."""
    referral = _for_answer(session, actor, ref)
    _not_ended(session, referral)
    return _move(session, actor, referral, "accepted", {"note": _note(note)}, "protection.referral.accept")


def decline_referral(session: Session, actor: Actor, ref: object, note: str) -> Referral:
    """The receiving organisation cannot take it, and says why."""
    referral = _for_answer(session, actor, ref)
    return _move(session, actor, referral, "declined", {"note": _note(note, required=True)},
                 "protection.referral.decline")


def complete_referral(session: Session, actor: Actor, ref: object, outcome: str, note: str = "") -> Referral:
    """The named receiver (who accepted it) marks the service given (or not), with the outcome."""
    referral = _for_answer(session, actor, ref)
    _not_ended(session, referral)
    if referral.state == "accepted" and not is_named_receiver(actor, referral):
        raise Forbidden(_("Only {name}, who accepted referral {code}, may record its outcome.",
                          name=_user_name(session, referral.responded_by) or "—", code=referral.code))
    if outcome not in vocab.REFERRAL_OUTCOMES:
        raise ReferralInvalid([("outcome", _("Unknown outcome; accepted: {accepted}.",
                                             accepted=", ".join(vocab.REFERRAL_OUTCOMES)))])
    text = _note(note)
    if "completed" in vocab.REFERRAL_MOVES.get(referral.state, set()):
        referral.outcome = outcome
    return _move(session, actor, referral, "completed", {"note": text, "outcome": outcome},
                 "protection.referral.complete")


def withdraw_referral(session: Session, actor: Actor, ref: object, note: str = "") -> Referral:
    """The case's caseworker or supervisor takes the referral back (the survivor changed their mind…)."""
    referral = get_referral(session, actor, ref)
    case = session.get(ProtectionCase, referral.case_id)
    if case is None or not is_sender(session, actor, referral):
        raise Forbidden(_("Only the caseworker or supervisor of the case may withdraw referral {code}.",
                          code=referral.code))
    policies.require_case_writer(actor, case)
    return _move(session, actor, referral, "withdrawn", {"note": _note(note)}, "protection.referral.withdraw")


# ---- lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralRow:
    referral: Referral
    case_code: str | None  # sent side only
    from_org: str
    to_org: str
    service_name: str | None
    consent_withdrawn: bool  # sent side: an open referral whose consent no longer holds

    @property
    def state_label(self) -> str:
        """The state's English label (a msgid: translate it with `_`)."""
        return vocab.REFERRAL_STATES.get(self.referral.state, self.referral.state)

    @property
    def service_type_label(self) -> str:
        return vocab.SERVICE_TYPES.get(self.referral.service_type, self.referral.service_type)

    @property
    def outcome_label(self) -> str | None:
        outcome = self.referral.outcome
        return vocab.REFERRAL_OUTCOMES.get(outcome, outcome) if outcome else None


def _rows(session: Session, referrals: Sequence[Referral], sent: bool) -> list[ReferralRow]:
    org_ids = {r.from_org_id for r in referrals} | {r.to_org_id for r in referrals if r.to_org_id}
    orgs = {o.id: o for o in session.scalars(sa.select(Organisation).where(Organisation.id.in_(org_ids)))}
    service_ids = {r.service_id for r in referrals if r.service_id}
    names: dict[int, str] = {i: n for i, n in session.execute(sa.select(Service.id, Service.name)
                                                               .where(Service.id.in_(service_ids)))}
    codes: dict[int, str] = {}
    if sent:
        codes = {i: c for i, c in session.execute(sa.select(ProtectionCase.id, ProtectionCase.code).where(
            ProtectionCase.id.in_({r.case_id for r in referrals})))}
    out = []
    for r in referrals:
        withdrawn = (sent and r.state in OPEN_STATES and r.consent_id is not None and r.to_org_id is not None
                     and active_consent(session, r.case_id, "referral", r.to_org_id) is None)
        out.append(ReferralRow(r, codes.get(r.case_id), _org_label(orgs.get(r.from_org_id)),
                               _org_label(orgs.get(r.to_org_id) if r.to_org_id else None),
                               names.get(r.service_id) if r.service_id else None, withdrawn))
    return out


def _page(session: Session, where: Sequence[sa.ColumnElement[bool]], state: str, limit: int | None,
          offset: int) -> tuple[int, list[Referral]]:
    if state:
        if state not in vocab.REFERRAL_STATES:
            raise ReferralInvalid([("state", _("Unknown state; accepted: {accepted}.",
                                               accepted=", ".join(vocab.REFERRAL_STATES)))])
        where = [*where, Referral.state == state]
    total = session.scalar(sa.select(sa.func.count()).select_from(Referral).where(*where)) or 0
    query = (sa.select(Referral).where(*where)  # urgent ones first
             .order_by(Referral.urgent.desc(), Referral.sent_at.desc(), Referral.id.desc()).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    return total, list(session.scalars(query))


def sent_referrals(session: Session, actor: Actor, *, state: str = "", limit: int | None = PAGE_SIZE,
                   offset: int = 0) -> tuple[int, list[ReferralRow]]:
    """Referrals of the cases the actor needs to know, the latest first."""
    where = [Referral.case_id.in_(sa.select(ProtectionCase.id).where(*policies.visible_cases(actor)))]
    total, found = _page(session, where, state, limit, offset)
    return total, _rows(session, found, sent=True)


def received_referrals(session: Session, actor: Actor, *, state: str = "", limit: int | None = PAGE_SIZE,
                       offset: int = 0) -> tuple[int, list[ReferralRow]]:
    """Referrals sent to the actor's organisation (for those who answer referrals), the latest first."""
    if actor.org_id is None or not actor.can(Permission.PROTECTION_REFERRAL_RECEIVE):
        return 0, []
    total, found = _page(session, [Referral.to_org_id == actor.org_id], state, limit, offset)
    return total, _rows(session, found, sent=False)


def referrals_of_case(session: Session, actor: Actor, case: ProtectionCase) -> list[ReferralRow]:
    """The referrals of a case the actor may see (the caller got it through `policies.get_case`), the
    latest first: where it went, its state and outcome, and whether its consent still holds."""
    if not knows_case(session, actor, case.id):
        raise policies.not_found(case.code)
    found = session.scalars(sa.select(Referral).where(Referral.case_id == case.id)
                            .order_by(Referral.sent_at.desc(), Referral.id.desc())).all()
    return _rows(session, found, sent=True)


# ---- the form's choices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceChoice:
    service: Service
    organisation: str | None  # the acronym when the provider receives referrals in Jatigi
    area_name: str
    consent: bool  # an active consent to a referral to its organisation


def service_choices(session: Session, actor: Actor, case: ProtectionCase,
                    service_type: str = "") -> list[ServiceChoice]:
    """Active services of the directory around the case's area, each with whether consent allows it."""
    filters = svc.Filters(area=case.area_pcode or "", service_type=service_type)
    _total, rows = svc.list_services(session=session, actor=actor, filters=filters, limit=500)
    consented = consented_organisations(session, case)
    return [ServiceChoice(r.service, r.organisation, r.area_name, r.service.organisation_id in consented)
            for r in rows]


def consented_organisations(session: Session, case: ProtectionCase) -> dict[int, str]:
    """Organisations the survivor consented to be referred to (consent active now): id → acronym."""
    org_ids = set(session.scalars(sa.select(Consent.organisation_id).where(
        Consent.case_id == case.id, Consent.purpose == "referral", Consent.organisation_id.is_not(None))))
    out = {}
    for org_id in org_ids:
        if org_id is not None and active_consent(session, case.id, "referral", org_id) is not None:
            org = session.get(Organisation, org_id)
            if org is not None:
                out[org_id] = org.acronym
    return out
