"""Family tracing and reunification: requests, matching, the caseworker's decision, the outcome.

A caseworker records who is sought (names, sex, birth year or age, where and when last seen) and
who is looking (name, how to reach them), sealed under the request's own data key; the
relationship, the date of separation and the last-seen area (a P-code) stay in clear.

Consent. A request is matched only with consent to tracing: when it is linked to a case, the
case's consent for the purpose "tracing" (`consent.active_consent`; a withdrawal stops matching,
and the request is no longer offered to other requests' searches); when it is not (an inquirer
who is not a case), the caseworker records that the inquirer consented to tracing, with the day
(sealed with the inquirer). Without either the request is refused.

Matching (`tracing_match`) compares the sought person with the people of the registry whose
households consented to tracing, whatever their organisation, and with the people of the other
open requests that may be matched (sought person against sought person and against inquirer,
and this inquirer against the people the others seek). Matches at or above the threshold are
kept, "to check"; a caseworker confirms or rejects each. A confirmed match sets the request
"matched"; the request then ends "reunified" or "closed", with a note (sealed).

What a caseworker sees of a candidate is minimal: names, sex, birth year, commune and the
organisation to contact — never a phone, an address or the household.

Need to know: `policies.visible_tracing`. Every read and write is audited under the linked case
("protection_case") or else the request ("tracing_request"), with no personal data in the detail.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, FieldsInvalid, Forbidden, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.places.models import AdminUnit
from jatigi.protection import cases, policies, tracing_match, vocab
from jatigi.protection.consent import active_consent
from jatigi.protection.models import ProtectionCase, TracingMatch, TracingRequest
from jatigi.protection.sealing import key_for, open_json, opened_key, require_key, seal_json
from jatigi.registry.models import Household, Person

MIN_THRESHOLD = 0.1
DEFAULT_THRESHOLD = 0.3  # a caseworker checks every candidate: finding the relative matters more
PAGE_SIZE = 50
MAX_NAME = 120
MAX_TEXT = 300
MAX_NOTE = 2000
OPEN_STATES = ("open", "matched")
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

LABELS = {
    "sought_given_name": N_("Given name of the person sought"),
    "sought_family_name": N_("Family name of the person sought"),
    "sought_sex": N_("Sex of the person sought"),
    "sought_birth_year": N_("Birth year"),
    "sought_age": N_("Age"),
    "last_seen_place": N_("Where last seen"),
    "last_seen_on": N_("When last seen"),
    "last_seen_pcode": N_("Last-seen area (P-code)"),
    "relationship": N_("Relationship"),
    "separated_on": N_("Date of separation"),
    "inquirer_given_name": N_("Inquirer's given name"),
    "inquirer_family_name": N_("Inquirer's family name"),
    "inquirer_sex": N_("Inquirer's sex"),
    "inquirer_contact": N_("How to reach the inquirer"),
    "case": N_("Case"),
    "consent": N_("Consent to tracing"),
    "threshold": N_("Threshold"),
    "note": N_("Note"),
}


class TracingInvalid(FieldsInvalid):
    """Input with problems, each with its field: nothing was written."""

    labels = LABELS


label = TracingInvalid.label




def not_found(ref: object) -> NotFound:
    """The one answer for a request that does not exist and one the actor may not see."""
    return NotFound(_("No tracing request {ref} that you may see.", ref=str(ref).strip()[:40]))


# ---- reading ---------------------------------------------------------------------------------------


def get_request(session: Session, actor: Actor, ref: object) -> TracingRequest:
    """A request by its code (TR-…), if the actor needs to know it; else NotFound (never Forbidden)."""
    actor.require(Permission.PROTECTION_TRACING_WRITE)
    code = policies.normal_code(ref)
    if code is None or not code.startswith("TR-"):
        raise not_found(ref)
    row = session.scalar(sa.select(TracingRequest).where(TracingRequest.code == code,
                                                         *policies.visible_tracing(actor)))
    if row is None:
        raise not_found(ref)
    return row


def _audit(session: Session, actor: Actor, action: str, request: TracingRequest, detail: dict[str, Any]) -> None:
    if request.case_id is not None:
        audit.record(session, actor, action, "protection_case", request.case_id,
                     {"tracing_request": request.code, **detail})
    else:
        audit.record(session, actor, action, "tracing_request", request.id, {"code": request.code, **detail})


@dataclass
class Summary:
    code: str
    state: str
    relationship: str | None
    separated_on: date | None
    last_seen_pcode: str | None
    case_code: str | None
    created_at: Any
    proposed: int  # matches to check


def list_requests(session: Session, actor: Actor, *, state: str = "", offset: int = 0,
                  limit: int = PAGE_SIZE) -> tuple[int, list[Summary]]:
    """The requests the actor may see, newest first, with the number of matches to check. No name
    is read: the list shows codes, states, relationships and areas."""
    actor.require(Permission.PROTECTION_TRACING_WRITE)
    if state and state not in vocab.TRACING_STATES:
        raise TracingInvalid([("state", _("Unknown state {value}; accepted: {accepted}.", value=state,
                                          accepted=", ".join(vocab.TRACING_STATES)))])
    conds = list(policies.visible_tracing(actor))
    if state:
        conds.append(TracingRequest.state == state)
    total = int(session.scalar(sa.select(sa.func.count()).select_from(TracingRequest).where(*conds)) or 0)
    proposed = (sa.select(sa.func.count()).select_from(TracingMatch)
                .where(TracingMatch.request_id == TracingRequest.id, TracingMatch.state == "proposed")
                .scalar_subquery())
    query = (sa.select(TracingRequest, ProtectionCase.code, proposed)
             .outerjoin(ProtectionCase, ProtectionCase.id == TracingRequest.case_id).where(*conds)
             .order_by(TracingRequest.created_at.desc(), TracingRequest.id.desc()).offset(offset).limit(limit))
    rows = [Summary(r.code, r.state, r.relationship, r.separated_on, r.last_seen_pcode, case_code, r.created_at,
                    int(n or 0)) for r, case_code, n in session.execute(query)]
    audit.record(session, actor, "protection.tracing.list", "tracing_request", None,
                 {"state": state or None, "shown": len(rows), "total": total})
    return total, rows


@dataclass
class Candidate:
    """A match as a caseworker sees it: minimal facts, the organisation to contact, and why."""

    match_id: int
    kind: str  # "person" (of the registry) or "request" (another tracing request)
    person_id: int | None
    probability: float
    state: str
    given_name: str
    family_name: str
    sex: str | None
    birth_year: int | None
    area_pcode: str | None
    organisation: str
    role: str | None = None  # for a request: whose person matched ("sought" or "inquirer")
    other_code: str | None = None  # the other request's code, when it is of the actor's organisation
    why: list[tuple[str, str]] = field(default_factory=list)
    decided_at: Any = None
    by_name_rule: bool = False  # proposed because the names agree exactly while the birth year is unknown


@dataclass
class Detail:
    request: TracingRequest
    case_code: str | None
    sought: dict[str, Any]
    inquirer: dict[str, Any]
    outcome: dict[str, Any]
    consented: bool
    candidates: list[Candidate]
    may_write: bool


def request_detail(session: Session, actor: Actor, ref: object) -> Detail:
    """A request opened: who is sought, who is looking, its matches side by side (audited)."""
    request = get_request(session, actor, ref)
    key = opened_key(session, request)
    sought = open_json(key, "sought_sealed", request.sought_sealed)
    inquirer = open_json(key, "inquirer_sealed", request.inquirer_sealed)
    case_code = session.scalar(sa.select(ProtectionCase.code).where(ProtectionCase.id == request.case_id)) \
        if request.case_id else None
    candidates = _candidates(session, request, sought)
    _audit(session, actor, "protection.tracing.read", request,
           {"matches": len(candidates), "people": sorted(c.person_id for c in candidates if c.person_id)})
    return Detail(request, case_code, _dated({k: v for k, v in sought.items() if k != "outcome"}, "last_seen_on"),
                  _dated(inquirer, "consented_on"), _dated(dict(sought.get("outcome") or {}), "on"),
                  consented(session, request, inquirer), candidates, may_write(session, actor, request))


def _dated(values: dict[str, Any], name: str) -> dict[str, Any]:
    """The ISO day sealed in `values[name]` as a date, to show per language."""
    text = values.get(name)
    if isinstance(text, str):
        try:
            values[name] = date.fromisoformat(text)
        except ValueError:
            pass
    return values


def may_write(session: Session, actor: Actor, request: TracingRequest) -> bool:
    return policies.tracing_writable(session, actor, request)


def _org_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(sa.select(Organisation.id, Organisation.acronym, Organisation.name)
                           .where(Organisation.id.in_(ids)))
    return {i: f"{acronym} — {name}" for i, acronym, name in rows}


def _person_facts(sought: dict[str, Any]) -> dict[str, Any]:
    return {"given_name": sought.get("given_name"), "family_name": sought.get("family_name"),
            "sex": sought.get("sex"), "birth_year": sought.get("birth_year"), "age": sought.get("age"),
            "place": sought.get("place")}


def _candidates(session: Session, request: TracingRequest, sought: dict[str, Any]) -> list[Candidate]:
    matches = session.scalars(sa.select(TracingMatch).where(TracingMatch.request_id == request.id)
                              .order_by(TracingMatch.match_probability.desc(), TracingMatch.id)).all()
    if not matches:
        return []
    mine = _person_facts({**sought, "place": request.last_seen_pcode})
    people_ids = [m.person_id for m in matches if m.person_id is not None]
    people = {}
    if people_ids:
        rows = session.execute(sa.select(Person.id, Person.given_name, Person.family_name, Person.sex,
                                         Person.birth_date, Household.current_pcode, Household.org_id)
                               .join(Household, Household.id == Person.household_id)
                               # a household that withdrew its tracing consent since is shown no more
                               .where(Person.id.in_(people_ids), *tracing_match.searchable()))
        people = {r[0]: r for r in rows}
    others = {r.id: r for r in session.scalars(sa.select(TracingRequest).where(
        TracingRequest.id.in_([m.other_request_id for m in matches if m.other_request_id is not None])))}
    orgs = _org_names(session, {p[6] for p in people.values()} | {o.org_id for o in others.values()})
    out: list[Candidate] = []
    for m in matches:
        if m.person_id is not None and m.person_id in people:
            _pid, given, family, sex, born, pcode, org_id = people[m.person_id]
            theirs = {"given_name": given, "family_name": family, "sex": sex,
                      "birth_year": born.year if born else None, "place": pcode}
            out.append(Candidate(m.id, "person", m.person_id, m.match_probability, m.state, given, family, sex,
                                 born.year if born else None, pcode, orgs.get(org_id, ""),
                                 why=tracing_match.why(mine, theirs), decided_at=m.decided_at,
                                 by_name_rule=tracing_match.proposed_by_names(mine, theirs)))
        elif m.other_request_id is not None and m.other_request_id in others:
            other = others[m.other_request_id]
            key = opened_key(session, other)
            if key is None or not consented(session, other):
                continue  # anonymised, or its consent to tracing withdrawn since
            their_sought = open_json(key, "sought_sealed", other.sought_sealed)
            their_inquirer = open_json(key, "inquirer_sealed", other.inquirer_sealed)
            role, person = _best_role(mine, {**their_sought, "place": other.last_seen_pcode}, their_inquirer)
            out.append(Candidate(m.id, "request", None, m.match_probability, m.state,
                                 str(person.get("given_name") or ""),
                                 str(person.get("family_name") or ""), person.get("sex"), _year(person),
                                 other.last_seen_pcode if role == "sought" else None, orgs.get(other.org_id, ""),
                                 role=role, other_code=other.code if other.org_id == request.org_id else None,
                                 why=tracing_match.why(mine, person), decided_at=m.decided_at,
                                 by_name_rule=tracing_match.proposed_by_names(mine, person)))
    return out


def _year(person: dict[str, Any]) -> int | None:
    year = person.get("birth_year")
    if year:
        return int(year)
    age = person.get("age")
    return date.today().year - int(age) if age is not None else None


def _best_role(mine: dict[str, Any], their_sought: dict[str, Any],
               their_inquirer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Which person of the other request is most like the one sought here (by the levels reached)."""
    def agreement(other: dict[str, Any]) -> int:
        return sum(1 for _f, level in tracing_match.why(mine, other)
                   if level not in ("different", "missing in one record"))

    inquirer = _person_facts(their_inquirer)
    if their_inquirer and agreement(inquirer) > agreement(their_sought):
        return "inquirer", inquirer
    return "sought", _person_facts(their_sought)


def consented(session: Session, request: TracingRequest, inquirer: dict[str, Any] | None = None) -> bool:
    """Whether the request may be matched now (see the module's note on consent)."""
    if request.case_id is not None:
        return active_consent(session, request.case_id, "tracing") is not None
    if inquirer is None:
        inquirer = open_json(opened_key(session, request), "inquirer_sealed", request.inquirer_sealed)
    return bool(inquirer.get("consented_on"))


# ---- recording a request ---------------------------------------------------------------------------


@dataclass
class NewRequest:
    sought_given_name: str = ""
    sought_family_name: str = ""
    sought_sex: str = ""
    sought_birth_year: str = ""
    sought_age: str = ""
    last_seen_place: str = ""
    last_seen_on: str = ""
    last_seen_pcode: str = ""
    relationship: str = ""
    separated_on: str = ""
    inquirer_given_name: str = ""
    inquirer_family_name: str = ""
    inquirer_sex: str = ""
    inquirer_contact: str = ""
    case: str = ""
    inquirer_consented: bool = False


def _day(text: str, name: str, problems: list[tuple[str, str]]) -> date | None:
    """A date written YYYY-MM-DD or DD/MM/YYYY, as on the case forms; not in the future."""
    return cases.day_value(problems, name, text, today=date.today())


def _int(text: str, name: str, low: int, high: int, problems: list[tuple[str, str]]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not low <= int(text) <= high:
        problems.append((name, _("Give a whole number from {low} to {high}.", low=low, high=high)))
        return None
    return int(text)


def _text(value: str, name: str, limit: int, problems: list[tuple[str, str]]) -> str:
    text = " ".join(value.split())
    if len(text) > limit:
        problems.append((name, _("At most {n} characters.", n=limit)))
    return text


def _sex(value: str, name: str, problems: list[tuple[str, str]]) -> str | None:
    value = value.strip()
    if not value:
        return None
    found = cases.code_of(value, vocab.SEXES)
    if found is None:
        problems.append((name, _("Unknown value {value}; accepted: {accepted}.", value=value[:20],
                                 accepted=", ".join(vocab.SEXES))))
    return found


def create_request(session: Session, actor: Actor, new: NewRequest) -> TracingRequest:
    """Record a tracing request (sealed), then search for matches when it may be matched."""
    actor.require(Permission.PROTECTION_TRACING_WRITE)
    if actor.user_id is None or actor.org_id is None:
        raise Forbidden(_("A tracing request is recorded by a caseworker of an organisation: name the user "
                          "(--as or JATIGI_USER)."))
    problems: list[tuple[str, str]] = []
    given = _text(new.sought_given_name, "sought_given_name", MAX_NAME, problems)
    family = _text(new.sought_family_name, "sought_family_name", MAX_NAME, problems)
    if not given:
        problems.append(("sought_given_name", _("Give the given name of the person sought.")))
    sex = _sex(new.sought_sex, "sought_sex", problems)
    year = _int(new.sought_birth_year, "sought_birth_year", 1900, date.today().year, problems)
    age = _int(new.sought_age, "sought_age", 0, 120, problems)
    if year is not None and age is not None:
        problems.append(("sought_age", _("Give the birth year or the age, not both.")))
    place_text = _text(new.last_seen_place, "last_seen_place", MAX_TEXT, problems)
    seen_on = _day(new.last_seen_on, "last_seen_on", problems)
    separated_on = _day(new.separated_on, "separated_on", problems)
    relationship = new.relationship.strip()
    if relationship not in vocab.TRACING_RELATIONSHIPS:
        problems.append(("relationship", _("Choose one of: {accepted}.",
                                           accepted=", ".join(vocab.TRACING_RELATIONSHIPS))))
    pcode = new.last_seen_pcode.strip().upper()
    if pcode and session.get(AdminUnit, pcode) is None:
        problems.append(("last_seen_pcode", _("No area with the P-code {value}.", value=pcode[:32])))
    inquirer = {"given_name": _text(new.inquirer_given_name, "inquirer_given_name", MAX_NAME, problems),
                "family_name": _text(new.inquirer_family_name, "inquirer_family_name", MAX_NAME, problems),
                "sex": _sex(new.inquirer_sex, "inquirer_sex", problems),
                "contact": _text(new.inquirer_contact, "inquirer_contact", MAX_TEXT, problems)}
    if not (inquirer["given_name"] or inquirer["family_name"]):
        problems.append(("inquirer_given_name", _("Give the name of the person who is looking.")))
    case: ProtectionCase | None = None
    if new.case.strip():
        try:
            case = policies.get_case(session, actor, new.case)
            policies.require_case_writer(actor, case)  # a colleague the case is shared with only reads it
        except NotFound as exc:
            problems.append(("case", exc.message))
        except Forbidden as exc:
            problems.append(("case", exc.message))
    elif not new.inquirer_consented:
        problems.append(("consent", _("Link the request to a case with consent to tracing, or record that the "
                                      "inquirer consented to tracing.")))
    if problems:
        raise TracingInvalid(problems)
    if case is None:
        inquirer["consented_on"] = date.today().isoformat()
        inquirer["consent_recorded_by"] = actor.username
    sought = {"given_name": given, "family_name": family or None, "sex": sex, "birth_year": year, "age": age,
              "last_seen_place": place_text or None, "last_seen_on": seen_on.isoformat() if seen_on else None}
    request = TracingRequest(code=_new_code(session), org_id=actor.org_id, case_id=case.id if case else None,
                             caseworker_id=actor.user_id, state="open", relationship=relationship,
                             separated_on=separated_on, last_seen_pcode=pcode or None, created_by=actor.user_id,
                             created_at=utcnow())
    key = key_for(session, request)
    request.sought_sealed = seal_json(key, "sought_sealed", {k: v for k, v in sought.items() if v is not None})
    request.inquirer_sealed = seal_json(key, "inquirer_sealed", {k: v for k, v in inquirer.items() if v})
    session.add(request)
    session.flush()
    _audit(session, actor, "protection.tracing.create", request,
           {"relationship": relationship, "area": request.last_seen_pcode, "linked": case is not None})
    if consented(session, request):
        try:
            match_request(session, actor, request.code)
        except ValidationFailed:  # names too common to search: recorded all the same; "search now" says why
            pass
    return request


def _new_code(session: Session) -> str:
    while True:
        code = "TR-" + "".join(secrets.choice(_ALPHABET) for _i in range(8))
        if session.scalar(sa.select(TracingRequest.id).where(TracingRequest.code == code)) is None:
            return code


# ---- matching -----------------------------------------------------------------------------------------


@dataclass
class MatchResult:
    request: TracingRequest
    model: str  # "trained" or "default"
    compared: int  # registry people compared after blocking
    new: int  # matches added
    proposed: int  # matches to check now
    threshold: float


def _require_writer(session: Session, actor: Actor, request: TracingRequest) -> None:
    if not may_write(session, actor, request):
        raise Forbidden(_("Only the caseworker of request {code} or a supervisor may change it.",
                                 code=request.code))


def _require_consent(session: Session, request: TracingRequest) -> None:
    if consented(session, request):
        return
    if request.case_id is not None:
        code = session.scalar(sa.select(ProtectionCase.code).where(ProtectionCase.id == request.case_id))
        raise Conflict(_("No consent to tracing on case {code}: record the consent (or its renewal) on the case "
                         "before searching.", code=code))
    raise Conflict(_("The inquirer's consent to tracing is not recorded: no search is made."))


def _matchable_others(session: Session, request: TracingRequest) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """The other open requests that may be matched, opened (sought, inquirer)."""
    rows = session.scalars(sa.select(TracingRequest).where(TracingRequest.id != request.id,
                                                           TracingRequest.state.in_(OPEN_STATES))).all()
    out = []
    for other in rows:
        key = opened_key(session, other)
        if key is None:
            continue
        inquirer = open_json(key, "inquirer_sealed", other.inquirer_sealed)
        if not consented(session, other, inquirer):
            continue
        sought = open_json(key, "sought_sealed", other.sought_sealed)
        out.append((other.id, {**_person_facts(sought), "place": other.last_seen_pcode}, _person_facts(inquirer)))
    return out


def match_request(session: Session, actor: Actor, ref: object, *, threshold: float = DEFAULT_THRESHOLD) -> MatchResult:
    """Search the registry and the other requests for the person sought; keep the matches at or
    above `threshold` as "to check" (audited). Matches decided before are kept as they are."""
    request = get_request(session, actor, ref)
    _require_writer(session, actor, request)
    if not MIN_THRESHOLD <= threshold < 1:
        # A floor: a search is to find one relative, not to list everyone of a consenting household.
        raise TracingInvalid([("threshold", _("Give a probability from {low} to 1, e.g. 0.5.", low=MIN_THRESHOLD))])
    if request.state not in OPEN_STATES:
        raise Conflict(_("Request {code} is {state}: no more searches.", code=request.code,
                         state=_(vocab.TRACING_STATES[request.state]).lower()))
    _require_consent(session, request)
    key = require_key(opened_key(session, request))
    sought = open_json(key, "sought_sealed", request.sought_sealed)
    inquirer = open_json(key, "inquirer_sealed", request.inquirer_sealed)
    found = tracing_match.search(session, {**_person_facts(sought), "place": request.last_seen_pcode},
                                 _person_facts(inquirer), _matchable_others(session, request))
    existing = session.scalars(sa.select(TracingMatch).where(TracingMatch.request_id == request.id)).all()
    by_person = {m.person_id: m for m in existing if m.person_id is not None}
    by_request = {m.other_request_id: m for m in existing if m.other_request_id is not None}
    new = 0
    for person_id, probability in found.people.items():
        if probability >= threshold or person_id in found.exact_people:
            new += _keep(session, request.id, by_person.get(person_id), probability, person_id=person_id)
    best: dict[int, float] = {}
    for pair in found.requests:
        other_id = int(pair.right[1:-1])
        best[other_id] = max(best.get(other_id, 0.0), pair.probability)
    for other_id, probability in best.items():
        if probability < threshold and other_id not in found.exact_requests:
            continue
        new += _keep(session, request.id, by_request.get(other_id), probability, other_request_id=other_id)
        # The other request's caseworker sees the match too.
        theirs = session.scalar(sa.select(TracingMatch).where(TracingMatch.request_id == other_id,
                                                              TracingMatch.other_request_id == request.id))
        if _keep(session, other_id, theirs, probability, other_request_id=request.id):
            other = session.get(TracingRequest, other_id)
            if other is not None:
                _audit(session, actor, "protection.tracing.match_from", other, {"from": request.code})
    session.flush()
    proposed = int(session.scalar(sa.select(sa.func.count()).select_from(TracingMatch).where(
        TracingMatch.request_id == request.id, TracingMatch.state == "proposed")) or 0)
    _audit(session, actor, "protection.tracing.match", request,
           {"model": found.model, "compared": found.candidates, "requests": len(best), "new": new,
            "threshold": threshold, "by_name_rule": len(found.exact_people) + len(found.exact_requests)})
    return MatchResult(request, found.model, found.candidates, new, proposed, threshold)


def _keep(session: Session, request_id: int, row: TracingMatch | None, probability: float, *,
          person_id: int | None = None, other_request_id: int | None = None) -> int:
    if row is None:
        session.add(TracingMatch(request_id=request_id, person_id=person_id, other_request_id=other_request_id,
                                 match_probability=round(probability, 4), state="proposed", created_at=utcnow()))
        return 1
    if row.state == "proposed":
        row.match_probability = round(probability, 4)
    return 0


# ---- deciding -------------------------------------------------------------------------------------------


DECISIONS = {"confirm": "confirmed", "reject": "rejected"}


def decide_match(session: Session, actor: Actor, ref: object, match_id: int, decision: str) -> TracingMatch:
    """Confirm (the request becomes "matched") or reject a proposed match (audited)."""
    request = get_request(session, actor, ref)
    _require_writer(session, actor, request)
    if decision not in DECISIONS:
        raise ValidationFailed(_("Unknown decision {value}; accepted: {accepted}.", value=decision[:20],
                                 accepted=", ".join(DECISIONS)))
    match = session.scalar(sa.select(TracingMatch).where(TracingMatch.id == match_id,
                                                         TracingMatch.request_id == request.id))
    if match is not None and match.other_request_id is not None:
        other = session.get(TracingRequest, match.other_request_id)
        if other is None or not consented(session, other):
            match = None  # the other family withdrew its consent to tracing: as if never matched
    if match is None:
        raise NotFound(_("Request {code} has no match {n}.", code=request.code, n=match_id))
    if match.state != "proposed":
        raise Conflict(_("This match was already decided: {state}.", state=_(vocab.MATCH_STATES[match.state])))
    if request.state not in OPEN_STATES:
        raise Conflict(_("Request {code} is {state}: its matches can no longer be decided.", code=request.code,
                         state=_(vocab.TRACING_STATES[request.state]).lower()))
    match.state = DECISIONS[decision]
    match.decided_by = actor.user_id
    match.decided_at = utcnow()
    if match.state == "confirmed":
        request.state = "matched"
    session.flush()
    _audit(session, actor, f"protection.tracing.{decision}", request,
           {"match": match.id, "kind": "person" if match.person_id else "request",
            "probability": match.match_probability})
    return match


OUTCOMES = ("reunified", "closed")


def close_request(session: Session, actor: Actor, ref: object, outcome: str, note: str) -> TracingRequest:
    """End a request: "reunified" (after a confirmed match) or "closed", with a note (sealed)."""
    request = get_request(session, actor, ref)
    _require_writer(session, actor, request)
    problems: list[tuple[str, str]] = []
    if outcome not in OUTCOMES:
        problems.append(("outcome", _("Choose one of: {accepted}.", accepted=", ".join(OUTCOMES))))
    text = note.strip()
    if not text:
        problems.append(("note", _("Say in a few words what happened.")))
    elif len(text) > MAX_NOTE:
        problems.append(("note", _("At most {n} characters.", n=MAX_NOTE)))
    if problems:
        raise TracingInvalid(problems)
    if request.state not in OPEN_STATES:
        raise Conflict(_("Request {code} is already {state}.", code=request.code,
                         state=_(vocab.TRACING_STATES[request.state]).lower()))
    if outcome == "reunified" and request.state != "matched":
        raise Conflict(_("Confirm a match before recording a reunification."))
    key = require_key(opened_key(session, request))
    sought = open_json(key, "sought_sealed", request.sought_sealed)
    sought["outcome"] = {"note": text, "on": date.today().isoformat(), "by": actor.username}
    request.sought_sealed = seal_json(key, "sought_sealed", sought)
    request.state = outcome
    request.closed_at = utcnow()
    session.flush()
    _audit(session, actor, f"protection.tracing.{outcome}", request, {})
    return request


def visible_cases_for_link(session: Session, actor: Actor) -> Sequence[tuple[str, str]]:
    """Codes of the open cases the actor may see, to link a request to (code, type)."""
    rows = session.execute(sa.select(ProtectionCase.code, ProtectionCase.case_type)
                           .where(*policies.visible_cases(actor), ProtectionCase.state != "closed")
                           .order_by(ProtectionCase.code).limit(500))
    return [(code, kind) for code, kind in rows]
