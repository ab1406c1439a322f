"""What the cash assistance pages share: who may open them, paging, the notice after an action,
uploads, and the few reads the services do not offer (a programme's history, the providers one
may choose).

The pages themselves are in programme_views, enrolment_views, cycle_views, payment_views and
coverage_views; views.py gathers their routers.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from jatigi.assistance import payment_files, states, vocab
from jatigi.assistance import providers as providers_
from jatigi.assistance.models import PaymentProvider, Programme, Transition
from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import N_, _, number
from jatigi.core.numbers import whole_number
from jatigi.registry.views import FormProblems
from jatigi.web.pages import page_require

Reader = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_PROGRAMME_READ))]
Writer = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_PROGRAMME_WRITE))]
Preparer = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_CYCLE_PREPARE))]
Approver = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_CYCLE_APPROVE))]
Exporter = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_PAYMENT_EXPORT))]
Reconciler = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_PAYMENT_RECONCILE))]
Monitor = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_MONITORING_WRITE))]

router = APIRouter(include_in_schema=False)  # every assistance page's routes, gathered by views.py
PAGE_SIZE = 50
UPLOAD_NAME = re.compile(r"[^\w.\-]+")

# The labels every assistance page may need, passed to the templates.
VOCAB: dict[str, Any] = {"sectors": vocab.SECTORS, "modalities": vocab.MODALITIES,
                         "programme_states": vocab.PROGRAMME_STATES, "cycle_states": vocab.CYCLE_STATES,
                         "payment_states": vocab.PAYMENT_STATES, "hold_reasons": vocab.HOLD_REASONS,
                         "enrolment_sources": vocab.ENROLMENT_SOURCES, "provider_kinds": vocab.PROVIDER_KINDS,
                         "state_label": states.state_label, "currency": vocab.CURRENCY_LABEL}


def pages_of(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def may_change(actor: Actor, programme: Programme, permission: Permission) -> bool:
    """Whether the actor holds `permission` for this programme's organisation (what the services check)."""
    return actor.can(permission) and actor.acts_for(programme.org_id)


def problems_of(pairs: Mapping[str, str | list[str]], labels: Mapping[str, str]) -> FormProblems:
    """Form problems from messages by field (a message of several lines gives one entry per line)."""
    out = FormProblems()
    for name, message in pairs.items():
        lines = message if isinstance(message, list) else [line for line in str(message).split("\n") if line.strip()]
        for line in lines:
            out.add(name, _(labels.get(name, name)), line)
    return out


def one_problem(name: str | None, label: str, message: str) -> FormProblems:
    out = FormProblems()
    out.add(name, label, message)
    return out


# ---- the notice shown after an action (the action redirects with ?done=…) -------------------------

NOTICES = {
    "created": N_("The programme was created, in draft: enrol households, then activate it."),
    "saved": N_("The programme was saved."),
    "activated": N_("The programme is active: its cycles can be created."),
    "closed": N_("The programme is closed."),
    "cancelled": N_("The programme is cancelled."),
    "exited": N_("The household left the programme: it gets no line in the cycles prepared from now on."),
    "cycle": N_("The cycle was created, in draft: prepare it."),
    "prepared": N_("The cycle is prepared: another person must now approve it."),
    "approved": N_("The cycle is approved and locked: export its payment file."),
    "rejected": N_("The cycle was rejected: it can be prepared again."),
    "cycle_cancelled": N_("The cycle is cancelled."),
    "cycle_closed": N_("The cycle is closed: no report can be applied to it any more."),
}


def _counts(query: Mapping[str, str], *names: str) -> dict[str, int]:
    return {k: whole_number(query.get(k, "0"), 9) or 0 for k in names}


def notice(query: Mapping[str, str]) -> str | None:
    done = query.get("done", "")
    if done == "sent_cancelled":
        return payment_files.sent_cancelled_notice(query)
    if done == "enrolled":
        counts = _counts(query, "found", "enrolled", "skipped")
        return _("{enrolled} households enrolled ({found} found, {skipped} already enrolled).",
                 enrolled=number(counts["enrolled"]), found=number(counts["found"]),
                 skipped=number(counts["skipped"]))
    if done == "pdm":
        counts = _counts(query, "rows", "added", "already")
        return _("{added} interviews added, {already} already there ({rows} rows read).",
                 added=number(counts["added"]), already=number(counts["already"]), rows=number(counts["rows"]))
    return _(NOTICES[done]) if done in NOTICES else None


# ---- uploads --------------------------------------------------------------------------------------

def is_upload(value: Any) -> bool:
    return hasattr(value, "filename") and hasattr(value, "file") and bool(getattr(value, "filename", ""))


def upload_name(filename: str | None, default: str) -> str:
    """An uploaded file's name, cleaned of its client path and odd characters, shortened but keeping
    its extension (which tells CSV from XLSX)."""
    name = UPLOAD_NAME.sub("_", Path(str(filename or default)).name).strip("._") or default
    stem, suffix = Path(name).stem, Path(name).suffix[:10]
    return (stem[:100] or "upload") + suffix


@contextmanager
def saved_upload(upload: Any, default: str) -> Iterator[Path]:
    """The uploaded file in a private temporary folder, under its own (cleaned) name, removed afterwards."""
    name = upload_name(upload.filename, default)
    folder = Path(tempfile.mkdtemp(prefix="jatigi-upload-"))
    try:
        path = folder / name
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- reads the services do not offer --------------------------------------------------------------

def history(session: Session, entity: str, entity_id: int) -> list[Transition]:
    return list(session.scalars(sa.select(Transition).where(Transition.entity == entity,
                                                            Transition.entity_id == entity_id)
                                .order_by(Transition.id)))


@dataclass(frozen=True)
class ProviderChoice:
    name: str
    label: str
    kind: str


def provider_choices(session: Session) -> list[ProviderChoice]:
    """The active providers, and the shipped ones not yet stored (stored when first used)."""
    found = {p.name: ProviderChoice(p.name, p.label, p.kind) for p in session.scalars(
        sa.select(PaymentProvider).where(PaymentProvider.active.is_(True)))}
    for name in providers_.SHIPPED:
        if name not in found:
            label, kind, _template = providers_.parse_toml(
                (providers_.SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8"), name)
            found[name] = ProviderChoice(name, label or name, kind)
    return sorted(found.values(), key=lambda p: p.label.lower())


def default_provider(session: Session, programme: Programme, choices: list[ProviderChoice]) -> str:
    """The programme's provider, else the first that suits its modality."""
    if programme.provider_id is not None:
        name = session.scalar(sa.select(PaymentProvider.name).where(PaymentProvider.id == programme.provider_id))
        if name:
            return name
    kind = "mobile_money" if programme.modality == "mobile_money" else "cash_list"
    return next((p.name for p in choices if p.kind == kind), choices[0].name if choices else "")
