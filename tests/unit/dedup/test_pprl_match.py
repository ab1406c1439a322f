"""Matching encodings: spelling variants of one person score high, different people low."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from jatigi.dedup import pprl, pprl_match
from jatigi.dedup.pprl import EncodingFileError, Encodings

REF = date(2013, 10, 15)
KEY = pprl.Secret(b"shared secret of the agencies in Bamako, 2013 !!!!")
BASE = {"sex": "m", "birth_date": "1985-03-02", "phone": "76 12 34 56", "place": "ML070101"}


def encodings(tmp_path: Path, name: str, people: list[dict[str, str]], key: pprl.Secret = KEY) -> Encodings:
    from jatigi.dedup.prepare import prepare_people

    path = tmp_path / f"{name}.csv"
    pprl.write_encodings(path, prepare_people(people, reference=REF).rows, key)
    return pprl.read_encodings(path)


def probability(tmp_path: Path, a: dict[str, str], b: dict[str, str]) -> float:
    left = encodings(tmp_path, "a", [dict(a, unique_id="a")])
    right = encodings(tmp_path, "b", [dict(b, unique_id="b")])
    found = pprl_match.match(left, right, threshold=0.0)
    return found.pairs[0][2] if found.pairs else 0.0


@pytest.mark.parametrize(("given_a", "family_a", "given_b", "family_b"), [
    ("Mamadou", "Traoré", "Mamadou", "Traore"),
    ("Mamadou", "Traoré", "Mahamadou", "Traoré"),
    ("Fatoumata", "Keïta", "Fatoumata", "Keita"),
    ("Mamadou", "Coulibaly", "Mamadou", "Kulibali"),
    ("Mamadou", "Diarra", "Mamadou", "Jara"),
    ("Mamadou", "Traoré", "TRAORE", "Mahamadou"),  # swapped and written otherwise
])
def test_spelling_variants_of_one_person_score_high(tmp_path: Path, given_a: str, family_a: str, given_b: str,
                                                    family_b: str) -> None:
    a = dict(BASE, given_name=given_a, family_name=family_a)
    b = dict(BASE, given_name=given_b, family_name=family_b)
    assert probability(tmp_path, a, b) >= 0.95
    # with a birth year only, no phone and no place, names carry the pair on their own
    a_bare = {"given_name": given_a, "family_name": family_a, "sex": "m", "birth_date": "1985"}
    b_bare = {"given_name": given_b, "family_name": family_b, "sex": "m", "birth_date": "1985"}
    assert probability(tmp_path, a_bare, b_bare) >= 0.5


@pytest.mark.parametrize(("a", "b"), [
    # a brother: same family name, phone and commune, another name and birth date
    (dict(BASE, given_name="Mamadou", family_name="Traoré"),
     dict(BASE, given_name="Seydou", family_name="Traoré", birth_date="1990-07-14")),
    # Mohamed and Mahmoud are two names, born years apart
    (dict(BASE, given_name="Mohamed", family_name="Maïga", phone=""),
     dict(BASE, given_name="Mahmoud", family_name="Maïga", phone="", birth_date="1979")),
    # strangers sharing a phone number
    (dict(BASE, given_name="Aminata", family_name="Diallo", sex="f", birth_date="1992-01-20"),
     dict(BASE, given_name="Oumar", family_name="Sangaré", birth_date="1960")),
    # namesakes born far apart in other regions
    (dict(BASE, phone="", given_name="Mamadou", family_name="Traoré"),
     dict(BASE, phone="", place="ML030101", given_name="Mamadou", family_name="Traoré", birth_date="1961-11-02")),
])
def test_different_people_score_low(tmp_path: Path, a: dict[str, str], b: dict[str, str]) -> None:
    assert probability(tmp_path, a, b) <= 0.1


def test_variants_keep_close_filters_and_other_names_do_not(tmp_path: Path) -> None:
    data = encodings(tmp_path, "n", [
        {"unique_id": "1", "given_name": "Mamadou", "family_name": "Traoré"},
        {"unique_id": "2", "given_name": "Mahamadou", "family_name": "Traore"},
        {"unique_id": "3", "given_name": "Seydou", "family_name": "Keïta"},
    ])
    compare = pprl_match.Comparer(data, data)
    assert compare.dice("given", 0, "given", 1) >= 0.8  # type: ignore[operator]
    assert compare.dice("family", 0, "family", 1) >= 0.8  # type: ignore[operator]
    assert compare.dice("given", 0, "given", 2) <= 0.4  # type: ignore[operator]
    assert compare.dice("family", 0, "family", 2) <= 0.4  # type: ignore[operator]


def test_a_file_is_matched_with_itself_each_pair_once(tmp_path: Path) -> None:
    data = encodings(tmp_path, "self", [
        dict(BASE, unique_id="p2", given_name="Mahamadou", family_name="Traore"),
        dict(BASE, unique_id="p1", given_name="Mamadou", family_name="Traoré"),
        dict(BASE, unique_id="p3", given_name="Awa", family_name="Coulibaly", sex="f", birth_date="2001-09-09"),
    ])
    found = pprl_match.match(data)
    assert [(a, b) for a, b, _p in found.pairs] == [("p1", "p2")]


def test_one_to_one_and_many_to_one_keep_the_most_probable_pairs() -> None:
    pairs = [("a1", "b1", 0.99), ("a1", "b2", 0.9), ("a2", "b1", 0.8), ("a3", "b3", 0.7)]
    assert pprl_match._linked(pairs, "all") == pairs
    assert pprl_match._linked(pairs, "one-to-one") == [("a1", "b1", 0.99), ("a3", "b3", 0.7)]
    assert pprl_match._linked(pairs, "many-to-one") == [("a1", "b1", 0.99), ("a2", "b1", 0.8), ("a3", "b3", 0.7)]


def test_within_one_file_one_to_one_puts_each_record_in_one_pair() -> None:
    pairs = [("p1", "p2", 0.99), ("p2", "p3", 0.9), ("p3", "p4", 0.8)]
    assert pprl_match._linked(pairs, "one-to-one", within=True) == [("p1", "p2", 0.99), ("p3", "p4", 0.8)]


def test_a_shared_identity_number_weighs_for_the_pair_and_a_different_one_against(tmp_path: Path) -> None:
    person = {"given_name": "Awa", "family_name": "Coulibaly", "sex": "f", "birth_date": "1990"}
    same = probability(tmp_path, dict(person, id_number="NINA-88123"), dict(person, id_number="nina 88123"))
    unknown = probability(tmp_path, person, person)
    other = probability(tmp_path, dict(person, id_number="NINA-88123"), dict(person, id_number="NINA-10001"))
    assert same > 0.99 and other < unknown < same


def test_files_encoded_with_other_secrets_are_not_compared(tmp_path: Path) -> None:
    a = encodings(tmp_path, "a", [dict(BASE, unique_id="1", given_name="Awa", family_name="Sow")])
    b = encodings(tmp_path, "b", [dict(BASE, unique_id="2", given_name="Awa", family_name="Sow")],
                  key=pprl.Secret(b"another secret, of another partnership, 2014 !!!!!!"))
    with pytest.raises(EncodingFileError) as err:
        pprl_match.match(a, b)
    assert "not encoded with the same secret" in err.value.message


def test_a_key_value_shared_by_too_many_records_is_left_aside(tmp_path: Path) -> None:
    same_name = [dict(BASE, unique_id=str(i), given_name="Mamadou", family_name="Traoré", phone="",
                      birth_date=str(1950 + i % 40), place="ML0701" + f"{i % 30:02d}") for i in range(60)]
    data = encodings(tmp_path, "many", same_name)
    blocking = pprl_match.Blocking(data, None, max_block_pairs=100)
    pairs = list(blocking)
    assert blocking.skipped >= 1  # "mamadou traore" by sound and by area: too many pairs
    assert pairs and all(j > i for i, j in pairs)
    assert len(pairs) == len(set(pairs))  # a pair brought by two keys is listed once
    assert blocking.largest <= 100


def test_the_fitted_model_learns_which_levels_mean_the_same_person() -> None:
    agree = (0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0)
    differ = (6, 6, 0, 4, 3, 2, 2, -1, 6, 6, 6)
    model = pprl_match.fit([(agree, True, 90.0), (agree, False, 10.0), (differ, False, 95.0), (differ, True, 5.0)])
    assert pprl_match._sigmoid(pprl_match.logit(agree, model)) > 0.8
    assert pprl_match._sigmoid(pprl_match.logit(differ, model)) < 0.2
