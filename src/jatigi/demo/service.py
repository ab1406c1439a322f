"""Building the demo: places, organisations, users, agreements and a synthetic registry.

Every step is idempotent: organisations, users and agreements that exist are left alone, and
demo households are recognised by their import batch (format `demo`), so `reset` removes them
and nothing else.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.accounts.models import DataSharingAgreement, Organisation, User
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import refresh_statistics, utcnow
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _
from jatigi.demo import duplicates, generator
from jatigi.demo.assessments import build_assessments
from jatigi.demo.assistance import AssistanceResult, build_assistance
from jatigi.demo.protection import ProtectionResult, build_protection
from jatigi.places.models import AdminUnit
from jatigi.places.service import load_gazetteer
from jatigi.registry.models import Household, ImportBatch, RecordVersion
from jatigi.registry.records import HouseholdRecord

DEMO_FORMAT = "demo"
DEMO_URL = "http://127.0.0.1:8000"
COD_FALLBACK_DIR = Path("..") / "shared" / "data" / "mali"
CHUNK = 5000
# More communes than the built-in gazetteer holds (27) means a full COD-AB is already loaded.
COD_LOADED_COMMUNES = 100


@dataclass
class PlacesResult:
    units: int
    cod_dir: Path | None = None
    cod_units: int = 0
    note: str | None = None


@dataclass
class AccountsResult:
    organisations: int = 0
    users: int = 0
    agreements: int = 0


@dataclass
class BuildResult:
    places: PlacesResult
    accounts: AccountsResult
    deleted: int = 0
    households: int = 0
    people: int = 0
    by_org: dict[str, int] = field(default_factory=dict)
    skipped_existing: int = 0
    assessments: int = 0
    assistance: AssistanceResult | None = None
    protection: ProtectionResult | None = None


def cod_directory(explicit: Path | None = None) -> Path | None:
    """The folder of COD-AB files to load: given, `JATIGI_COD_DIR`, or ../shared/data/mali."""
    if explicit is not None:
        return explicit
    env = os.environ.get("JATIGI_COD_DIR")
    if env:
        return Path(env)
    return COD_FALLBACK_DIR if COD_FALLBACK_DIR.is_dir() else None


def load_places(*, session: Session, actor: Actor, cod_dir: Path | None = None,
                use_cod: bool = True) -> PlacesResult:
    """Load COD-AB boundaries when a folder is found, then the built-in gazetteer.

    A COD folder that cannot be read is reported and skipped: the gazetteer alone holds every
    place the demo uses.
    """
    result = PlacesResult(units=0)
    folder = cod_directory(cod_dir) if use_cod else None
    if folder is not None:
        communes = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit)
                                  .where(AdminUnit.level == 3)) or 0
        if communes >= COD_LOADED_COMMUNES:
            result.note = _("COD-AB boundaries already loaded; {folder} not read again.",
                            folder=str(folder))
        else:
            result.cod_units, result.note = _load_cod(session=session, actor=actor, folder=folder)
            if result.cod_units:
                result.cod_dir = folder
    result.units = load_gazetteer(session=session)
    return result


def _load_cod(*, session: Session, actor: Actor, folder: Path) -> tuple[int, str | None]:
    try:
        from jatigi.places.cod import load_cod_dir
    except ImportError:
        return 0, _("The COD-AB importer is not installed; only the built-in gazetteer is loaded.")
    try:
        with session.begin_nested():
            imported = load_cod_dir(session=session, actor=actor, directory=folder)
    except (JatigiError, OSError, ValueError) as exc:
        reason = exc.message if isinstance(exc, JatigiError) else str(exc)
        return 0, "\n".join((_("COD-AB files in {folder} not loaded; using the built-in gazetteer.",
                                folder=str(folder)), reason))
    return imported.units, None


def ensure_accounts(*, session: Session, actor: Actor) -> AccountsResult:
    """Create the demo organisations, users and agreements that do not exist yet."""
    result = AccountsResult()
    accounts.sync_roles(session=session)
    have_orgs = set(session.scalars(sa.select(Organisation.acronym)))
    for org in generator.ORGANISATIONS:
        if org.acronym not in have_orgs:
            accounts.create_organisation(session=session, actor=actor, acronym=org.acronym,
                                         name=org.name, kind=org.kind)
            result.organisations += 1
    have_users = set(session.scalars(sa.select(User.username)))
    for user in generator.DEMO_USERS:
        if user.username not in have_users:
            accounts.create_user(session=session, actor=actor, username=user.username,
                                 full_name=user.full_name, org_acronym=user.org,
                                 password=generator.DEMO_PASSWORD, roles=[user.role],
                                 language="en" if user.org in ("NRC", "DRC", "ECHO") else "fr")
            result.users += 1
    ids = dict(session.execute(sa.select(Organisation.acronym, Organisation.id)).all())
    DSA = DataSharingAgreement
    have = {(p, r) for p, r in session.execute(
        sa.select(DSA.provider_org_id, DSA.recipient_org_id).where(DSA.revoked_at.is_(None)))}
    for provider, recipient, purpose in generator.AGREEMENTS:
        if (ids[provider], ids[recipient]) not in have:
            accounts.create_agreement(session=session, actor=actor, provider=provider,
                                      recipient=recipient, purpose=purpose,
                                      signed_on=generator.AGREEMENTS_SIGNED_ON,
                                      reference=f"DSA-{provider}-{recipient}-2013")
            result.agreements += 1
    return result


def demo_household_count(*, session: Session) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(Household)
        .join(ImportBatch, ImportBatch.id == Household.import_batch_id)
        .where(ImportBatch.format == DEMO_FORMAT)
    ) or 0


def reset_registry(*, session: Session, actor: Actor) -> int:
    """Delete the demo households (with their people, consents, movements and relatives)."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_PURGE)
    batches = sa.select(ImportBatch.id).where(ImportBatch.format == DEMO_FORMAT)
    demo_ids = sa.select(Household.id).where(Household.import_batch_id.in_(batches))
    session.execute(sa.delete(RecordVersion).where(RecordVersion.entity_type == "household",
                                                   RecordVersion.entity_id.in_(demo_ids)))
    done = cast(sa.CursorResult[Any], session.execute(
        sa.delete(Household).where(Household.import_batch_id.in_(batches))))
    deleted = done.rowcount or 0
    session.execute(sa.delete(ImportBatch).where(ImportBatch.format == DEMO_FORMAT))
    audit.record(session, actor, "demo.reset", "household", None, {"deleted": deleted})
    return deleted


def _batch(*, session: Session, org_id: int, user_id: int | None, seed: int, households: int) -> int:
    label = f"demo:seed={seed}:households={households}"
    batch = ImportBatch(org_id=org_id, user_id=user_id, filename=label,
                        sha256=hashlib.sha256(label.encode()).hexdigest(), format=DEMO_FORMAT,
                        status="running")
    session.add(batch)
    session.flush()
    return batch.id


def build(*, session: Session, actor: Actor, households: int = 2000, seed: int = 2013,
          reset: bool = False, cod_dir: Path | None = None, use_cod: bool = True,
          on_progress: Callable[[int], None] | None = None,
          on_step: Callable[[str], None] | None = None) -> BuildResult:
    """Build the whole demo in one transaction; see the module docstring."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_WRITE)
    from jatigi.registry.writer import REGISTRY_TABLES, write_households

    step = on_step or (lambda _text: None)
    step(_("Loading places…"))
    places = load_places(session=session, actor=actor, cod_dir=cod_dir, use_cod=use_cod)
    step(_("Creating organisations, users and agreements…"))
    acc = ensure_accounts(session=session, actor=actor)
    result = BuildResult(places=places, accounts=acc)
    if reset:
        step(_("Deleting the previous demo registry…"))
        result.deleted = reset_registry(session=session, actor=actor)
    existing = demo_household_count(session=session)
    if existing:
        result.skipped_existing = existing
        return result

    step(_("Writing {n} households…", n=households))
    orgs = dict(session.execute(sa.select(Organisation.acronym, Organisation.id)).all())
    writers = _registering_actors(session=session, orgs=orgs, fallback=actor)
    batches = {acr: _batch(session=session, org_id=orgs[acr], user_id=writers[acr].user_id,
                           seed=seed, households=households)
               for acr in generator.REGISTERING_ORGS}
    people = dict.fromkeys(generator.REGISTERING_ORGS, 0)
    counts = dict.fromkeys(generator.REGISTERING_ORGS, 0)
    # A small share registered again by another organisation: the review queue's duplicates.
    records = islice(duplicates.with_duplicates(generator.generate(households, seed=seed), seed=seed), households)
    while True:
        by_org: dict[str, list[HouseholdRecord]] = {}
        n = 0
        for rec, acr in records:
            by_org.setdefault(acr, []).append(rec)
            n += 1
            if n == CHUNK:
                break
        if not n:
            break
        for acr, recs in by_org.items():
            written = write_households(session=session, actor=writers[acr], org_id=orgs[acr],
                                       records=recs, batch_id=batches[acr], chunk=CHUNK,
                                       on_progress=on_progress)
            counts[acr] += written.households
            people[acr] += written.people
    now = utcnow()
    for acr, batch_id in batches.items():
        session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(
            status="committed", rows_total=counts[acr], households_written=counts[acr],
            people_written=people[acr], finished_at=now))
    step(_("Writing assessments…"))
    result.assessments = build_assessments(session=session, batch_ids=list(batches.values()), seed=seed)
    refresh_statistics(session, (*REGISTRY_TABLES, "assessments"))
    step(_("Scoring, and a cash programme with three monthly cycles…"))
    result.assistance = build_assistance(session=session, households=sum(counts.values()), seed=seed)
    step(_("Protection cases, referrals, a service directory, tracing requests and monitoring reports…"))
    result.protection = build_protection(session=session, seed=seed)
    result.households = sum(counts.values())
    result.people = sum(people.values())
    result.by_org = {acr: n for acr, n in counts.items() if n}
    audit.record(session, actor, "demo.build", "household", None,
                 {"seed": seed, "households": result.households, "people": result.people,
                  "assessments": result.assessments})
    return result


def _registering_actors(*, session: Session, orgs: dict[str, int], fallback: Actor) -> dict[str, Actor]:
    """Each organisation's households are registered by its demo enumerator, when there is one."""
    out: dict[str, Actor] = {}
    for acr in generator.REGISTERING_ORGS:
        user = session.scalar(sa.select(User).where(User.username == f"enum.{acr.lower()}",
                                                    User.org_id == orgs[acr]))
        out[acr] = accounts.actor_for(session=session, user=user) if user else fallback
    return out
