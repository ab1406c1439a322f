"""Small Kobo exports written by hand for the importer's tests, shaped like KoboToolbox's."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

MAIN_HEADERS = [
    "start", "end", "today",
    "consent/consent_registration", "consent/consent_data_sharing", "consent/consent_referral",
    "consent/consent_tracing", "consent/consent_contact", "consent/enumerator",
    "household/population_group", "household/current_pcode", "household/address",
    "household/origin_pcode", "household/displacement_date", "household/arrival_date",
    "household/living_arrangement", "household/households_in_dwelling", "household/monthly_rent_xof",
    "household/rent_arrears_xof", "household/intention", "household/priority_needs",
    "household/priority_needs/food", "household/priority_needs/shelter", "household/phone",
    "_id", "_uuid", "_submission_time", "_index",
]
MEMBER_HEADERS = [
    "members/given_name", "members/family_name", "members/sex", "members/relationship",
    "members/birth_date", "members/age", "members/wg_seeing", "members/wg_walking",
    "members/school_attendance", "members/specific_needs", "members/documents", "members/member_phone",
    "_index", "_parent_table_name", "_parent_index", "_submission__uuid",
]


def household(i: int, **over: Any) -> dict[str, Any]:
    row = {
        "start": "2013-10-20T09:00:00", "end": "2013-10-20T09:30:00", "today": "2013-10-20",
        "consent/consent_registration": "yes", "consent/consent_data_sharing": "yes",
        "consent/consent_referral": "yes", "consent/consent_tracing": "no", "consent/consent_contact": "yes",
        "consent/enumerator": "Oumou Sangaré",
        "household/population_group": "idp", "household/current_pcode": "ML090104223",
        "household/address": "Près de la mosquée", "household/origin_pcode": "ML060106",
        "household/displacement_date": "2012-04-02", "household/arrival_date": "2012-04-10",
        "household/living_arrangement": "renting", "household/households_in_dwelling": "4",
        "household/monthly_rent_xof": "25000", "household/rent_arrears_xof": "50000",
        "household/intention": "return", "household/priority_needs": "food shelter",
        "household/priority_needs/food": "1", "household/priority_needs/shelter": "1",
        "household/phone": "76 12 34 5" + str(i % 10),
        "_id": str(1000 + i), "_uuid": f"00000000-0000-4000-8000-{i:012d}",
        "_submission_time": "2013-10-20T10:00:00", "_index": str(i),
    }
    row.update(over)
    return row


def member(parent: int, index: int, **over: Any) -> dict[str, Any]:
    row = {
        "members/given_name": "Fatoumata", "members/family_name": "Maïga", "members/sex": "f",
        "members/relationship": "head", "members/birth_date": "1980-05-01", "members/age": "33",
        "members/wg_seeing": "1", "members/wg_walking": "1", "members/school_attendance": "",
        "members/specific_needs": "WR-SF", "members/documents": "nina", "members/member_phone": "",
        "_index": str(index), "_parent_table_name": "registration", "_parent_index": str(parent),
        "_submission__uuid": f"00000000-0000-4000-8000-{parent:012d}",
    }
    row.update(over)
    return row


def child(parent: int, index: int, **over: Any) -> dict[str, Any]:
    return member(parent, index, **{
        "members/given_name": "Moussa", "members/sex": "m", "members/relationship": "child",
        "members/birth_date": "2005-02-11", "members/age": "8", "members/specific_needs": "",
        "members/documents": "birth_certificate", "members/school_attendance": "yes", **over})


def write(path: Path, headers: list[str], rows: list[dict[str, Any]], delimiter: str = ";") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=headers, delimiter=delimiter, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def export(folder: Path, n: int = 3, **main_over: Any) -> list[Path]:
    """A valid export of n households, each a mother heading with one child."""
    mains = [household(i, **main_over) for i in range(1, n + 1)]
    members = []
    k = 0
    for i in range(1, n + 1):
        k += 1
        members.append(member(i, k))
        k += 1
        members.append(child(i, k))
    return [write(folder / "registration.csv", MAIN_HEADERS, mains),
            write(folder / "members.csv", MEMBER_HEADERS, members)]
