"""`jatigi targeting indicators` as a user runs it: a survey file with WFP names in, indicators out."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook

LCS = ("Lcs_stress_DomAsset", "Lcs_stress_Saving", "Lcs_stress_BorrowCash", "Lcs_stress_CrdtFood",
       "Lcs_crisis_ProdAssets", "Lcs_crisis_Health", "Lcs_crisis_OutSchool",
       "Lcs_em_ResAsset", "Lcs_em_Begged", "Lcs_em_IllegalAct")
HEADERS = ["household", "village", "FCSStap", "FCSPulse", "FCSDairy", "FCSPr", "FCSVeg", "FCSFruit", "FCSFat",
           "FCSSugar", "FCSCond", "rCSILessQlty", "rCSIBorrow", "rCSIMealSize", "rCSIMealAdult", "rCSIMealNb",
           "hhhsnofood", "hhhsnofood_fr", "HHhSBedHung", "HHhSBedHung_FR", "HHhSNotEat", "HHhSNotEat_FR",
           *LCS, "HHExp_Food_Purch_MN_1M", "HHExpNFRent_Purch_MN_1M", "HHExpNFMedServ_Purch_MN_1M",
           "HHExpNFEduFee_Purch_MN_1M", "HHExpNFWat_Purch_MN_1M", "HHExpNFEnerg_Purch_MN_1M",
           "HHExpNFTransp_Purch_MN_1M", "HHExpNFPhone_Purch_MN_1M", "HHExpNFOther_Purch_MN_1M",
           "HHExpNFDebt_Purch_MN_1M", "HHSize"]
# A displaced family renting in Bamako, and a host family: every figure below is worked out by hand.
ROWS = [
    ["ML-0001", "=Niarela", 7, 3, 1, 2, 5, 1, 7, 7, 7, 3, 1, 2, 1, 2, "1", "3", "0", "", "oui", "1",
     10, 30, 10, 10, 10, 20, 10, 10, 10, 10, "60 000", 25000, 5000, 0, 5000, 5000, 0, 0, 0, 20000, 6],
    ["ML-0002", "Sogoniko", 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, "0", "", "0", "", "0", "",
     10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 40000, 0, 5000, 10000, 2000, 3000, 0, 0, 0, 0, 4],
]


def jatigi(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jatigi", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-c", "from jatigi.cli.main import app; app()"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([*command, "--lang", lang, *args], capture_output=True, text=True, env=env, timeout=300)


def _write(path: Path, headers: list[str], rows: list[list[object]], delimiter: str = ";") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_survey_file_gets_its_indicators(tmp_path: Path) -> None:
    source, out = _write(tmp_path / "survey.csv", HEADERS, ROWS), tmp_path / "indicators.csv"

    done = jatigi("targeting", "indicators", str(source), "--out", str(out), "--meb", "20000", "--smeb", "12000")

    assert done.returncode == 0, done.stderr
    assert "2 households: indicators written to" in done.stdout
    assert "Household dietary diversity (HDDS): not assessed, the file lacks HDDSStapCer" in done.stdout
    displaced, host = _read(out)
    # Columns of the file come first, untouched when they are not inputs (a formula is defused).
    assert displaced["household"] == "ML-0001" and displaced["village"] == "'=Niarela"
    assert host["village"] == "Sogoniko"
    # FCS 2x7 + 3x3 + 4x1 + 4x2 + 5 + 1 + 0.5x7 + 0.5x7 = 48 -> acceptable (> 42)
    assert (displaced["fcs"], displaced["fcs_category"]) == ("48", "acceptable")
    assert (host["fcs"], host["fcs_category"]) == ("112", "acceptable")
    # rCSI 3 + 2 + 2 + 3 + 2 = 12 -> phase 2; HHS often (2) + no + rarely (1) = 3 -> phase 3
    assert (displaced["rcsi"], displaced["rcsi_phase"], displaced["hhs"], displaced["hhs_phase"]) == (
        "12", "2", "3", "3")
    assert (host["rcsi_phase"], host["hhs"], host["hhs_phase"]) == ("1", "0", "1")
    # Savings spent (stress), health spending exhausted (crisis: "exhausted" counts as used)
    assert (displaced["lcs_max"], host["lcs_max"]) == ("crisis", "none")
    # Acceptable, HHS 3, rCSI 12: food consumption phase 2; with crisis coping: phase 3
    assert (displaced["ch_phase"], host["ch_phase"]) == ("3", "1")
    # 60,000 food of 100,000 (debt repayment left out) = 60%; 100,000 / 6 = 16,666.67 per person
    assert (displaced["food_expenditure_share"], displaced["food_expenditure_category"]) == ("60", "50_to_65")
    assert (displaced["expenditure_per_person"], displaced["economic_capacity"]) == ("16666.67", "smeb_to_meb")
    assert (host["expenditure_per_person"], host["economic_capacity"]) == ("15000", "smeb_to_meb")
    # Not in the file: empty, never 0
    assert displaced["hdds"] == displaced["hdds_phase"] == displaced["crowding"] == displaced["wg_disability"] == ""


def test_a_module_missing_from_the_file_is_not_assessed_and_an_xlsx_is_read(tmp_path: Path) -> None:
    keep = [i for i, h in enumerate(HEADERS) if not h.lower().startswith(("hhhs", "lcs_em", "village"))]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([HEADERS[i] for i in keep])
    for row in ROWS:
        sheet.append([int(str(row[i]).replace(" ", "")) if str(row[i]).replace(" ", "").isdigit() else row[i]
                      for i in keep])
    source = tmp_path / "survey.xlsx"
    workbook.save(source)

    done = jatigi("targeting", "indicators", str(source), "--fcs-thresholds", "21,35")

    assert done.returncode == 0, done.stderr
    assert "Household hunger scale (HHS): not assessed, the file lacks HHSNoFood, HHSBedHung, HHSNotEat." in (
        done.stderr)
    assert "Livelihood coping strategies (LCS): not assessed, the file lacks Lcs_em_*." in done.stderr
    assert "Economic capacity: not assessed; give --meb and --smeb." in done.stderr
    displaced, _host = list(csv.DictReader(done.stdout.splitlines()))
    assert (displaced["fcs"], displaced["rcsi"]) == ("48", "12")
    assert displaced["hhs"] == displaced["hhs_phase"] == displaced["lcs_max"] == displaced["ch_phase"] == ""
    assert displaced["economic_capacity"] == ""


def test_bad_values_are_all_listed_and_nothing_is_written(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[0][HEADERS.index("FCSStap")] = 8
    rows[0][HEADERS.index("HHExpNFRent_Purch_MN_1M")] = -5000
    rows[1][HEADERS.index("rCSIBorrow")] = "deux"
    rows[1][HEADERS.index("Lcs_em_Begged")] = 40
    source = _write(tmp_path / "survey.csv", HEADERS, rows)
    out = tmp_path / "indicators.csv"
    out.write_text("earlier results\n", encoding="utf-8")

    done = jatigi("targeting", "indicators", str(source), "--out", str(out))

    assert done.returncode == 1
    assert "Row 2, FCSStap: 8 is not accepted; accepted: a whole number of days from 0 to 7." in done.stderr
    assert "Row 2, HHExpNFRent_Purch_MN_1M: -5000 is not accepted; accepted: an amount in FCFA from 0 to 1,000,000,000,000." in (
        done.stderr)
    assert 'Row 3, rCSIBorrow: "deux" is not a number; accepted: a whole number of days from 0 to 7.' in done.stderr
    assert "Row 3, Lcs_em_Begged: 40 is not accepted; accepted: one of 10, 20, 30, 9999." in done.stderr
    assert "Nothing was written: 4 problems in 2 rows." in done.stderr
    assert out.read_text(encoding="utf-8") == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["indicators.csv", "survey.csv"]


def test_options_that_make_no_sense_are_refused_in_french(tmp_path: Path) -> None:
    source = _write(tmp_path / "survey.csv", HEADERS, ROWS)

    only_meb = jatigi("targeting", "indicators", str(source), "--meb", "20000", lang="fr")
    thresholds = jatigi("targeting", "indicators", str(source), "--fcs-thresholds", "42", lang="fr")

    assert only_meb.returncode == 1
    assert "Donnez à la fois le MEB et le MEB de survie par personne" in only_meb.stderr
    assert thresholds.returncode == 1
    assert "--fcs-thresholds : deux nombres séparés par une virgule, comme 28,42, et non 42." in thresholds.stderr
