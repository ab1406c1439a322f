"""Building the demo is idempotent, and a reset removes the demo households only."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation, User
from jatigi.core.authz import SYSTEM
from jatigi.demo import service
from jatigi.demo.generator import DEMO_USERS, generate
from jatigi.registry.models import Household
from jatigi.registry.writer import write_households


def _households(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Household)) or 0


def test_build_reset_and_rebuild(session: Session, tmp_path: Path) -> None:
    bad_cod = tmp_path / "cod"
    bad_cod.mkdir()
    (bad_cod / "readme.txt").write_text("no boundaries here")

    first = service.build(session=session, actor=SYSTEM, households=120, seed=1, cod_dir=bad_cod)

    assert first.households == 120 and first.people > 400
    assert first.places.cod_dir is None and "not loaded" in (first.places.note or "")
    assert first.accounts.users == len(DEMO_USERS)
    assert sum(first.by_org.values()) == 120

    unhcr = session.scalar(sa.select(Organisation.id).where(Organisation.acronym == "UNHCR"))
    assert unhcr is not None
    write_households(session=session, actor=SYSTEM, org_id=unhcr, records=generate(1, seed=99))

    again = service.build(session=session, actor=SYSTEM, households=120, seed=1, use_cod=False)
    assert again.skipped_existing == 120 and again.households == 0
    assert again.accounts.users == again.accounts.organisations == again.accounts.agreements == 0

    rebuilt = service.build(session=session, actor=SYSTEM, households=50, seed=2, reset=True,
                            use_cod=False)
    assert rebuilt.deleted == 120 and rebuilt.households == 50
    assert _households(session) == 51  # the household written outside the demo is kept
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == len(DEMO_USERS)
