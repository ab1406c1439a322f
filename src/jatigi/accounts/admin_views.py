"""Administration pages: organisations, users, roles and data-sharing agreements.

Thin: read the form, check what only the form can tell (a field left empty, a date that is not
one), call the accounts service, which checks permissions and audits every write. After a
write the browser is sent back to the list (post, redirect, get), so a reload sends nothing twice.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jatigi.accounts import service
from jatigi.accounts.models import ORG_KIND_LABELS, Organisation, OrgKind, Role, User
from jatigi.core.authz import ROLE_LABELS, Actor, Permission
from jatigi.core.errors import JatigiError, NotFound
from jatigi.core.i18n import LANGUAGES, N_, _
from jatigi.web.deps import SessionDep
from jatigi.web.pages import check_csrf, page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

ReadActor = Annotated[Actor, Depends(page_require(Permission.ACCOUNTS_USER_READ))]
UserWriter = Annotated[Actor, Depends(page_require(Permission.ACCOUNTS_USER_WRITE))]
OrgWriter = Annotated[Actor, Depends(page_require(Permission.ACCOUNTS_ORGANISATION_WRITE))]
AgreementWriter = Annotated[Actor, Depends(page_require(Permission.ACCOUNTS_AGREEMENT_WRITE))]
# A parameter after the actor, so that the session's CSRF token is known when it is checked.
CsrfChecked = Annotated[None, Depends(check_csrf)]

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
MAX_ACRONYM = 40
MAX_NAME = 200
MAX_USERNAME = 80
MAX_PURPOSE = 200
MAX_REFERENCE = 120


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _date(value: str, errors: dict[str, str], field: str, required: bool = False) -> date | None:
    if not value:
        if required:
            errors[field] = _("This value is required.")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = _("Not a valid date; write it as YYYY-MM-DD, such as 2024-05-02.")
        return None


def _org_options(orgs: list[Organisation]) -> list[tuple[str, str]]:
    return [(org.acronym, f"{org.acronym} — {org.name}") for org in orgs]


def _back(path: str, **params: str) -> RedirectResponse:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


# ---- index -------------------------------------------------------------------------------------


@router.get("/admin")
def admin_index(request: Request, actor: ReadActor) -> HTMLResponse:
    return render(request, "accounts/admin.html")


# ---- organisations -----------------------------------------------------------------------------


def _organisations_page(request: Request, session: Session, *, values: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None, added: str | None = None,
                        status_code: int = 200) -> HTMLResponse:
    orgs = service.organisations(session=session)
    counts = {org_id: n for org_id, n in session.execute(sa.select(User.org_id, sa.func.count()).group_by(User.org_id))}
    shown_added = added if added and any(o.acronym == added for o in orgs) else None
    return render(request, "accounts/admin_organisations.html", status_code=status_code, organisations=orgs,
                  user_counts=counts, kinds=[(k.value, _(ORG_KIND_LABELS[k])) for k in OrgKind],
                  kind_labels={k.value: ORG_KIND_LABELS[k] for k in OrgKind},
                  values=values or {"acronym": "", "name": "", "kind": OrgKind.NNGO.value},
                  errors=errors or {}, added=shown_added)


@router.get("/admin/organisations")
def organisations_page(request: Request, session: SessionDep, actor: ReadActor,
                       added: str | None = None) -> HTMLResponse:
    return _organisations_page(request, session, added=added)


@router.post("/admin/organisations")
def add_organisation(request: Request, session: SessionDep, actor: OrgWriter, _csrf: CsrfChecked,
                     form: FormDep) -> Response:
    values = {"acronym": _text(form, "acronym"), "name": _text(form, "name"), "kind": _text(form, "kind")}
    errors: dict[str, str] = {}
    if not values["acronym"]:
        errors["acronym"] = _("An organisation needs an acronym.")
    elif len(values["acronym"]) > MAX_ACRONYM:
        errors["acronym"] = _("At most {n} characters.", n=MAX_ACRONYM)
    elif session.scalar(sa.select(Organisation.id).where(Organisation.acronym == values["acronym"])):
        errors["acronym"] = _("The organisation {acronym} already exists.", acronym=values["acronym"])
    if len(values["name"]) > MAX_NAME:
        errors["name"] = _("At most {n} characters.", n=MAX_NAME)
    if values["kind"] not in {k.value for k in OrgKind}:
        errors["kind"] = _("Choose the type of organisation.")
    if not errors:
        try:
            org = service.create_organisation(session=session, actor=actor, acronym=values["acronym"],
                                              name=values["name"], kind=values["kind"])
        except JatigiError as exc:
            errors["form"] = exc.message
        else:
            return _back("/admin/organisations", added=org.acronym)
    return _organisations_page(request, session, values=values, errors=errors, status_code=422)


# ---- users -------------------------------------------------------------------------------------


def _users_page(request: Request, session: Session, actor: Actor, *, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, done: dict[str, str | None] | None = None,
                problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    rows = service.list_users(session=session, actor=actor)
    own = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    orgs = service.organisations(session=session) if actor.sees_all else ([own] if own else [])
    default_values = {"username": "", "full_name": "", "org": own.acronym if own else "", "roles": [],
                      "language": "fr"}
    return render(request, "accounts/admin_users.html", status_code=status_code, rows=rows,
                  org_options=_org_options(orgs), role_options=_role_options(session), role_labels=ROLE_LABELS,
                  language_names=LANGUAGE_NAMES, language_options=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES],
                  values=values or default_values, errors=errors or {},
                  notice=_users_notice(rows, done or {}), problem=problem,
                  min_password=service.MIN_PASSWORD_LENGTH)


def _role_options(session: Session) -> list[tuple[str, str]]:
    return [(name, _(ROLE_LABELS.get(name, name))) for name in session.scalars(sa.select(Role.name).order_by(Role.name))]


def _users_notice(rows: list[service.UserRow], done: dict[str, str | None]) -> str | None:
    # Only names of users listed on the page: the query string is no way to put words on it.
    visible = {row.user.username for row in rows}
    if done.get("added") in visible:
        return _("The user {username} was added. They can log in now.", username=done["added"])
    if done.get("deactivated") in visible:
        return _("{username} was deactivated: their sessions have ended and they can no longer log in.",
                 username=done["deactivated"])
    if done.get("reactivated") in visible:
        return _("{username} was reactivated and can log in again.", username=done["reactivated"])
    if done.get("roles") in visible:
        return _("The roles of {username} were changed; they apply from the next page {username} opens.",
                 username=done["roles"])
    return None


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, actor: ReadActor, added: str | None = None,
               deactivated: str | None = None, reactivated: str | None = None,
               roles: str | None = None) -> HTMLResponse:
    done = {"added": added, "deactivated": deactivated, "reactivated": reactivated, "roles": roles}
    return _users_page(request, session, actor, done=done)


@router.post("/admin/users")
def add_user(request: Request, session: SessionDep, actor: UserWriter, _csrf: CsrfChecked,
             form: FormDep) -> Response:
    values: dict[str, Any] = {
        "username": _text(form, "username").lower(), "full_name": _text(form, "full_name"),
        "org": _text(form, "org"), "language": _text(form, "language") or "fr",
        "roles": [r for r in form.getlist("roles") if isinstance(r, str) and r],
    }
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    errors: dict[str, str] = {}
    if not values["username"]:
        errors["username"] = _("A user needs a user name.")
    elif len(values["username"]) > MAX_USERNAME or any(c.isspace() for c in values["username"]):
        errors["username"] = _("At most {n} characters, without spaces.", n=MAX_USERNAME)
    elif session.scalar(sa.select(User.id).where(User.username == values["username"])):
        errors["username"] = _("The user {username} already exists.", username=values["username"])
    if len(values["full_name"]) > MAX_NAME:
        errors["full_name"] = _("At most {n} characters.", n=MAX_NAME)
    if not values["org"]:
        errors["org"] = _("Choose the organisation.")
    if not values["roles"]:
        errors["roles"] = _("Choose at least one role.")
    if values["language"] not in LANGUAGES:
        errors["language"] = _("Choose French or English.")
    if len(password) < service.MIN_PASSWORD_LENGTH:
        errors["password"] = _("A password needs at least {n} characters.", n=service.MIN_PASSWORD_LENGTH)
    if not errors:
        try:
            user = service.create_user(session=session, actor=actor, username=values["username"],
                                       full_name=values["full_name"], org_acronym=values["org"],
                                       password=password, roles=values["roles"], language=values["language"])
        except JatigiError as exc:
            errors["form"] = exc.message
        else:
            return _back("/admin/users", added=user.username)
    return _users_page(request, session, actor, values=values, errors=errors, status_code=422)


def _set_active(request: Request, session: Session, actor: Actor, user_id: int, active: bool) -> Response:
    try:
        user = service.set_user_active(session=session, actor=actor, user_id=user_id, active=active)
    except JatigiError as exc:
        return _users_page(request, session, actor, problem=exc.message, status_code=exc.status_code)
    return _back("/admin/users", **{("reactivated" if active else "deactivated"): user.username})


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(user_id: int, request: Request, session: SessionDep, actor: UserWriter,
                    _csrf: CsrfChecked) -> Response:
    return _set_active(request, session, actor, user_id, active=False)


@router.post("/admin/users/{user_id}/reactivate")
def reactivate_user(user_id: int, request: Request, session: SessionDep, actor: UserWriter,
                    _csrf: CsrfChecked) -> Response:
    return _set_active(request, session, actor, user_id, active=True)


def _user_roles_page(request: Request, session: Session, actor: Actor, user_id: int, *,
                     checked: list[str] | None = None, errors: dict[str, str] | None = None,
                     status_code: int = 200) -> HTMLResponse:
    user, held = service.user_roles(session=session, actor=actor, user_id=user_id)
    org = session.get(Organisation, user.org_id)
    return render(request, "accounts/admin_user_roles.html", status_code=status_code, target=user,
                  organisation=org.acronym if org else "", role_options=_role_options(session),
                  checked=held if checked is None else checked, errors=errors or {})


@router.get("/admin/users/{user_id}/roles")
def user_roles_page(user_id: int, request: Request, session: SessionDep, actor: UserWriter) -> HTMLResponse:
    return _user_roles_page(request, session, actor, user_id)


@router.post("/admin/users/{user_id}/roles")
def change_user_roles(user_id: int, request: Request, session: SessionDep, actor: UserWriter, _csrf: CsrfChecked,
                      form: FormDep) -> Response:
    wanted = [r for r in form.getlist("roles") if isinstance(r, str) and r]
    errors: dict[str, str] = {}
    if not wanted:
        errors["roles"] = _("Choose at least one role; to stop someone from logging in, deactivate them.")
    else:
        try:
            user = service.set_user_roles(session=session, actor=actor, user_id=user_id, roles=wanted)
        except NotFound:
            raise
        except JatigiError as exc:
            errors["roles"] = exc.message
        else:
            return _back("/admin/users", roles=user.username)
    return _user_roles_page(request, session, actor, user_id, checked=wanted, errors=errors, status_code=422)


# ---- roles -------------------------------------------------------------------------------------


def _roles_page(request: Request, session: Session, actor: Actor, *, notice: str | None = None,
                problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    roles = service.role_permissions(session=session, actor=actor)
    permissions = sorted({p for perms in roles.values() for p in perms} | {str(p) for p in Permission})
    granted = {name: set(perms) for name, perms in roles.items()}
    may_edit = actor.can(Permission.ACCOUNTS_USER_WRITE) and actor.sees_all
    editable = [name for name in roles if name != service.ADMIN_ROLE] if may_edit else []
    return render(request, "accounts/admin_roles.html", status_code=status_code, roles=list(roles),
                  granted=granted, permissions=permissions, role_labels=ROLE_LABELS, editable=editable,
                  notice=notice, problem=problem)


@router.get("/admin/roles")
def roles_page(request: Request, session: SessionDep, actor: ReadActor, saved: int | None = None) -> HTMLResponse:
    notice = None
    if saved is not None:
        notice = (_("The permissions were saved; people holding these roles get them on the next page they open.")
                  if saved else _("Nothing to save: the permissions were already so."))
    return _roles_page(request, session, actor, notice=notice)


@router.post("/admin/roles")
def change_role_permissions(request: Request, session: SessionDep, actor: UserWriter, _csrf: CsrfChecked,
                            form: FormDep) -> Response:
    """Every role listed in the form gets exactly the permissions ticked for it, or none does."""
    roles = [r for r in dict.fromkeys(form.getlist("roles")) if isinstance(r, str) and r]
    if not roles:
        return _roles_page(request, session, actor, problem=_("Nothing to save: the form named no role."),
                           status_code=422)
    changed = False
    try:
        with session.begin_nested():
            for role in roles:
                wanted = [p for p in form.getlist(f"grant-{role}") if isinstance(p, str)]
                changed = service.set_role_permissions(session=session, actor=actor, role=role,
                                                       permissions=wanted) or changed
    except JatigiError as exc:
        return _roles_page(request, session, actor, problem=exc.message, status_code=exc.status_code)
    return _back("/admin/roles", saved=str(int(changed)))


# ---- data-sharing agreements -------------------------------------------------------------------

AGREEMENT_STATUS_LABELS = {"active": N_("In force"), "revoked": N_("Revoked"), "expired": N_("Expired"),
                           "pending": N_("Not yet in force")}


def _agreements_page(request: Request, session: Session, actor: Actor, *, values: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, notice: str | None = None, problem: str | None = None,
                     status_code: int = 200) -> HTMLResponse:
    rows = service.list_agreements(session=session, actor=actor)
    orgs = service.organisations(session=session)
    own = next((o for o in orgs if o.id == actor.org_id), None)
    providers = orgs if actor.sees_all else ([own] if own else [])
    default_values = {"provider": own.acronym if own else "", "recipient": "", "purpose": "",
                      "signed_on": date.today().isoformat(), "valid_until": "", "reference": ""}
    can_write = actor.can(Permission.ACCOUNTS_AGREEMENT_WRITE)
    revocable = {row.agreement.id for row in rows
                 if can_write and row.status != "revoked"
                 and (actor.sees_all or row.agreement.provider_org_id == actor.org_id)}
    return render(request, "accounts/admin_agreements.html", status_code=status_code, rows=rows,
                  provider_options=_org_options(providers), recipient_options=_org_options(orgs),
                  values=values or default_values, errors=errors or {},
                  notice=notice, problem=problem, can_write=can_write, revocable=revocable,
                  status_labels=AGREEMENT_STATUS_LABELS)


@router.get("/admin/agreements")
def agreements_page(request: Request, session: SessionDep, actor: ReadActor, added: int | None = None,
                    revoked: int | None = None) -> HTMLResponse:
    notice = None
    if added is not None:
        notice = _("The agreement was recorded: the recipient now sees the households that consented to sharing.")
    elif revoked is not None:
        notice = _("The agreement was revoked: the recipient no longer sees the provider's households.")
    return _agreements_page(request, session, actor, notice=notice)


@router.post("/admin/agreements")
def add_agreement(request: Request, session: SessionDep, actor: AgreementWriter, _csrf: CsrfChecked,
                  form: FormDep) -> Response:
    values = {name: _text(form, name) for name in
              ("provider", "recipient", "purpose", "signed_on", "valid_until", "reference")}
    errors: dict[str, str] = {}
    if not values["provider"]:
        errors["provider"] = _("Choose the organisation that shares its households.")
    if not values["recipient"]:
        errors["recipient"] = _("Choose the organisation that receives them.")
    elif values["recipient"] == values["provider"]:
        errors["recipient"] = _("An organisation cannot share with itself.")
    if not values["purpose"]:
        errors["purpose"] = _("An agreement needs a stated purpose.")
    elif len(values["purpose"]) > MAX_PURPOSE:
        errors["purpose"] = _("At most {n} characters.", n=MAX_PURPOSE)
    if len(values["reference"]) > MAX_REFERENCE:
        errors["reference"] = _("At most {n} characters.", n=MAX_REFERENCE)
    signed_on = _date(values["signed_on"], errors, "signed_on", required=True)
    valid_until = _date(values["valid_until"], errors, "valid_until")
    if not errors and signed_on is not None:
        try:
            dsa = service.create_agreement(session=session, actor=actor, provider=values["provider"],
                                           recipient=values["recipient"], purpose=values["purpose"],
                                           signed_on=signed_on, valid_until=valid_until,
                                           reference=values["reference"] or None)
        except JatigiError as exc:
            errors["form"] = exc.message
        else:
            return _back("/admin/agreements", added=str(dsa.id))
    return _agreements_page(request, session, actor, values=values, errors=errors, status_code=422)


@router.post("/admin/agreements/{agreement_id}/revoke")
def revoke_agreement(agreement_id: int, request: Request, session: SessionDep, actor: AgreementWriter,
                     _csrf: CsrfChecked) -> Response:
    try:
        dsa = service.revoke_agreement(session=session, actor=actor, agreement_id=agreement_id)
    except JatigiError as exc:
        return _agreements_page(request, session, actor, problem=exc.message, status_code=exc.status_code)
    return _back("/admin/agreements", revoked=str(dsa.id))
