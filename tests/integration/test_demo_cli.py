"""`jatigi demo …` and `jatigi xlsform …` run as a user runs them: a separate process."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from pyxform.xls2xform import convert

from jatigi.accounts import service as accounts
from jatigi.accounts.models import DataSharingAgreement, Organisation, User
from jatigi.core.db import session_scope
from jatigi.demo.generator import DEMO_PASSWORD, DEMO_USERS, ORGANISATIONS
from jatigi.registry.models import Household, Person


def jatigi(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jatigi", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-c", "from jatigi.cli.main import app; app()"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("JATIGI_COD_DIR", None)
    return subprocess.run([*command, "--lang", "en", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=cwd)


def _count(session: sa.orm.Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_demo_build_creates_users_and_a_registry(db_url: str, tmp_path: Path,
                                                 engine: sa.Engine) -> None:
    done = jatigi("demo", "build", "--households", "300", "--no-cod", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Wrote 300 households" in done.stdout
    assert "enum.amss" in done.stdout and DEMO_PASSWORD in done.stdout
    assert "http://127.0.0.1:8000" in done.stdout
    with session_scope(engine) as s:
        assert _count(s, Household) == 300
        people = _count(s, Person)
        assert 1500 <= people <= 2100
        assert set(s.scalars(sa.select(User.username))) >= {u.username for u in DEMO_USERS}
        assert _count(s, Organisation) == len(ORGANISATIONS)
        assert _count(s, DataSharingAgreement) >= 5
        per_org = dict(s.execute(
            sa.select(Organisation.acronym, sa.func.count())
            .join(Household, Household.org_id == Organisation.id)
            .group_by(Organisation.acronym)).all())
        assert {"UNHCR", "AMSS", "NRC", "DRC", "IOM"} <= set(per_org)
        # A demo user can log in, and UNHCR sees what AMSS shares with it.
        user = accounts.authenticate(session=s, username="im.unhcr", password=DEMO_PASSWORD)
        actor = accounts.actor_for(session=s, user=user)
        amss = s.scalar(sa.select(Organisation.id).where(Organisation.acronym == "AMSS"))
        assert amss in actor.visible_org_ids

    again = jatigi("demo", "build", "--households", "300", "--no-cod", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already holds 300 demo households" in again.stdout

    rebuilt = jatigi("demo", "build", "--households", "200", "--seed", "7", "--reset", "--no-cod",
                     cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Deleted 300 previous demo households" in rebuilt.stdout
    with session_scope(engine) as s:
        assert _count(s, Household) == 200
        assert _count(s, User) == len(DEMO_USERS)


def test_kobo_export_writes_one_csv_per_table(tmp_path: Path) -> None:
    done = jatigi("demo", "kobo-export", "--households", "40", "--out", str(tmp_path / "kobo"))

    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "kobo").iterdir())
    assert names == ["members.csv", "movements.csv", "registration.csv", "separated_relatives.csv"]
    with (tmp_path / "kobo" / "registration.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert len(rows) == 40 and rows[-1]["_index"] == "40"


def test_kobo_export_refuses_an_unknown_format(tmp_path: Path) -> None:
    done = jatigi("demo", "kobo-export", "--households", "5", "--out", str(tmp_path),
                  "--format", "ods")

    assert done.returncode == 1
    assert "Unknown format ods; accepted: csv, xlsx." in done.stderr


def test_xlsform_registration_writes_a_form_pyxform_reads(tmp_path: Path) -> None:
    out = tmp_path / "form.xlsx"
    done = jatigi("xlsform", "registration", "--out", str(out))

    assert done.returncode == 0, done.stderr
    assert "jatigi_registration" in done.stdout
    xform = convert(xlsform=str(out)).xform
    assert '<repeat nodeset="/data/members">' in xform and 'lang="English (en)"' in xform
