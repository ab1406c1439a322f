"""`jatigi protection services …` and `jatigi protection referrals …` as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jatigi.accounts.models import Organisation
from jatigi.core.db import session_scope
from jatigi.protection import consent
from jatigi.protection.models import Referral, Service
from tests import factories as f
from tests import protection_factories as pf
from tests.integration.test_protection_security_tokens import second_factor_env
from tests.web import count_rows

JATIGI = str(Path(sys.executable).parent / "jatigi")


def jatigi(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    env.pop("JATIGI_USER", None)
    if user:
        env["JATIGI_USER"] = user
        env.update(second_factor_env(user))
    return subprocess.run([JATIGI, "--lang", "en", "protection", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_directory_and_referrals_from_the_command_line(engine: sa.Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        team = pf.team(s)
        case = pf.case(s, team.caseworker, team.supervisor)
        pb = s.scalar(sa.select(Organisation.id).where(Organisation.acronym == "PB"))
        code = case.code

    bad = tmp_path / "services.csv"
    bad.write_text("name,service_type,organisation,area_pcode\nClinique,hospital,PB,ML090104\n", encoding="utf-8")
    refused = jatigi("services", "import", str(bad), user="sup.a")
    assert refused.returncode == 1
    assert "services.csv: 1 problems; nothing was imported." in refused.stderr
    assert "Row 2, column service_type, value “hospital”: Unknown type of service" in refused.stderr
    assert count_rows(engine, Service) == 0
    bad.write_text("name,service_type,organisation,area_pcode\nClinique,medical,PB,ML090104\n", encoding="utf-8")
    planted = jatigi("services", "import", str(bad), user="sup.a")  # PA may not add a service in PB's name
    assert planted.returncode == 1 and "only the people of PB" in planted.stderr
    assert "1 services added, 0 updated." in jatigi("services", "import", str(bad), user="sup.b").stdout
    added = jatigi("services", "add", "--name", "Écoute", "--type", "psychosocial", "--area", "ML09",
                   "--provider", "APDF", "--hours", "8h-16h", user="sup.a")
    assert added.returncode == 0 and "added: Écoute." in added.stdout
    assert jatigi("services", "add", "--name", "X", "--type", "food", "--area", "ML09", "--provider", "Y",
                  user="cw.a").returncode == 1  # caseworkers do not keep the directory
    listed = jatigi("services", "list", "--area", f.BAMAKO_COMMUNE_IV, user="cw.a")
    assert "Clinique" in listed.stdout and "Écoute" in listed.stdout and "2 services." in listed.stdout
    with session_scope(engine) as s:
        clinic = s.scalar(sa.select(Service.id).where(Service.name == "Clinique"))

    no_consent = jatigi("referrals", "send", code, "--service", str(clinic), user="cw.a")
    assert no_consent.returncode == 1 and "No consent of the survivor to a referral to PB" in no_consent.stderr
    with session_scope(engine) as s:
        c = s.scalar(sa.select(type(case)).where(type(case).code == code))
        assert c is not None
        consent.record_consent(session=s, actor=f.actor(s, "cw.a"), case=c, purpose="referral", granted=True,
                               organisation_id=pb)
    sent = jatigi("referrals", "send", code, "--service", str(clinic), "--urgent", user="cw.a")
    assert sent.returncode == 0, sent.stderr
    ref_code = re.search(r"Referral (REF-[A-Z0-9]+) sent\.", sent.stdout).group(1)  # type: ignore[union-attr]
    assert count_rows(engine, Referral) == 1

    inbox = jatigi("referrals", "list", user="cw.b")
    assert ref_code in inbox.stdout and code not in inbox.stdout
    hidden = jatigi("referrals", "answer", ref_code, "accept", user="cw2.a")  # PA's colleague: not PB
    assert hidden.returncode == 1
    assert jatigi("referrals", "answer", ref_code, "accept", user="cw.b").returncode == 0
    done = jatigi("referrals", "answer", ref_code, "complete", "--outcome", "service_given", user="cw.b")
    assert done.returncode == 0 and "Service given" in done.stdout
    mine = jatigi("referrals", "list", "--sent", user="cw.a")
    assert ref_code in mine.stdout and code in mine.stdout and "Service given" in mine.stdout
