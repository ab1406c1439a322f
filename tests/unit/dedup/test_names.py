"""Names agencies write differently must meet; different names must stay apart."""

from __future__ import annotations

import pytest

from jatigi.dedup import names as N

# The issue's pairs and the spellings agencies in Bamako used for the same person.
SAME_NAME = [
    ("Mamadou", "Mahamadou"), ("Mamadou", "Mohamadou"), ("Mamadou", "Mamadu"),
    ("Traoré", "Traore"), ("Traoré", "Trawore"), ("Traoré", "TRAORE"),
    ("Keïta", "Keita"), ("Keïta", "Kéita"),
    ("Coulibaly", "Kulibali"), ("Coulibaly", "Koulibaly"),
    ("Diarra", "Jara"), ("Diarra", "Dyarra"),
    ("Diallo", "Jallow"), ("Diallo", "Jalo"),
    ("Touré", "Toure"), ("Cissé", "Cisse"), ("Cissé", "Sissé"), ("Sidibé", "Sidibe"),
    ("Maïga", "Maiga"), ("Konaté", "Konate"), ("Dembélé", "Dembele"),
    ("Fatoumata", "Fatimata"), ("Fatoumata", "Fatoumat"), ("Fatoumata", "Fatumata"),
    ("Aminata", "Aminatou"), ("Oumar", "Umar"), ("Oumar", "Omar"), ("Moussa", "Musa"),
    ("Ibrahim", "Ibrahima"), ("Ibrahim", "Brahima"), ("Aïssata", "Aissata"), ("Hawa", "Awa"),
    ("Mariam", "Mariame"), ("Mariam", "Maryam"), ("Kadidia", "Khadija"), ("Seydou", "Seidou"),
    ("Boubacar", "Bubakar"), ("Boubacar", "Aboubacar"), ("Abdoulaye", "Abdullahi"),
]

# Spellings whose sound key must agree even without the table.
SAME_SOUND = [
    ("Mamadou", "Mahamadou"), ("Traoré", "Traore"), ("Traoré", "Trawore"), ("Keïta", "Keita"),
    ("Keïta", "Keyta"), ("Coulibaly", "Kulibali"), ("Coulibaly", "Koulibaly"), ("Diarra", "Jara"),
    ("Diarra", "Dyarra"), ("Diarra", "Djarra"), ("Diallo", "Jallow"), ("Diallo", "Jalo"),
    ("Touré", "Toure"), ("Cissé", "Sissé"), ("Hawa", "Awa"), ("Hawa", "Haoua"), ("Seydou", "Seidou"),
    ("Oumar", "Omar"), ("Moussa", "Musa"), ("Mariam", "Maryam"), ("Kadidia", "Khadija"),
    ("Ouattara", "Watara"), ("Dembélé", "Denbele"), ("Abdoulaye", "Abdullahi"), ("Cheick", "Sheikh"),
]

# Different names: never one canonical key. Some share a root (a weaker agreement), some not.
DIFFERENT_NAMES = [
    ("Mohamed", "Mahmoud"), ("Mamadou", "Mahmoud"), ("Mamadou", "Mamoudou"), ("Mamadou", "Mohamed"),
    ("Aminata", "Amina"), ("Fatoumata", "Fatima"), ("Kadiatou", "Kadidia"), ("Issa", "Aïssa"),
    ("Issa", "Issaka"), ("Hassane", "Housseini"), ("Alassane", "Alhousseini"), ("Moussa", "Moustapha"),
    ("Oumar", "Ousmane"), ("Adama", "Amadou"), ("Hamidou", "Hamadou"), ("Boubacar", "Bakary"),
    ("Sidi", "Sidiki"), ("Seydou", "Sidi"), ("Abdoulaye", "Abdoulkarim"), ("Sékou", "Cheick"),
    ("Traoré", "Touré"), ("Diarra", "Diallo"), ("Cissé", "Sissoko"), ("Keïta", "Koïta"),
    ("Koné", "Konaté"), ("Konaté", "Konaré"), ("Awa", "Aïssata"), ("Mariam", "Maïmouna"),
]
SAME_ROOT_ONLY = [("Mamadou", "Mohamed"), ("Aminata", "Amina"), ("Fatoumata", "Fatima"),
                  ("Kadiatou", "Kadidia"), ("Boubacar", "Bakary"), ("Sékou", "Cheick")]
DIFFERENT_ROOTS = [("Mohamed", "Mahmoud"), ("Mamadou", "Mamoudou"), ("Hassane", "Housseini"),
                   ("Adama", "Amadou"), ("Hamidou", "Amadou"), ("Issa", "Aïssata"), ("Moussa", "Moustapha")]
DIFFERENT_SOUND = [("Traoré", "Touré"), ("Diarra", "Diallo"), ("Konaté", "Konaré"), ("Koné", "Konaté"),
                   ("Mohamed", "Mahmoud"), ("Mamadou", "Mamoudou"), ("Keïta", "Koïta"), ("Seydou", "Sidi")]


@pytest.mark.parametrize(("a", "b"), SAME_NAME)
def test_spellings_of_one_name_share_a_canonical_key(a: str, b: str) -> None:
    assert N.canonical(a) == N.canonical(b)
    assert N.root(a) == N.root(b)


@pytest.mark.parametrize(("a", "b"), SAME_SOUND)
def test_spellings_of_one_name_share_a_sound_key(a: str, b: str) -> None:
    assert N.phonetic(a) == N.phonetic(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_NAMES)
def test_different_names_keep_different_canonical_keys(a: str, b: str) -> None:
    assert N.canonical(a) != N.canonical(b)


@pytest.mark.parametrize(("a", "b"), SAME_ROOT_ONLY)
def test_related_names_share_only_their_root(a: str, b: str) -> None:
    assert N.canonical(a) != N.canonical(b)
    assert N.root(a) == N.root(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_ROOTS)
def test_names_of_different_origin_have_different_roots(a: str, b: str) -> None:
    assert N.root(a) != N.root(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_SOUND)
def test_different_names_sound_different(a: str, b: str) -> None:
    assert N.phonetic(a) != N.phonetic(b)


def test_sound_keys_of_the_issue_names() -> None:
    assert [N.phonetic(n) for n in ("Traoré", "Coulibaly", "Diarra", "Diallo", "Keïta", "Hawa")] == [
        "traur", "kulibali", "jara", "jalu", "kita", "aua"]


def test_folding_removes_accents_ligatures_and_punctuation() -> None:
    assert N.fold("Keïta") == "keita"
    assert N.fold("N'Diaye") == "ndiaye"
    assert N.fold("Œuvre Cæsar") == "oeuvre caesar"
    assert N.fold("  Ag.Mohamed-Ag  Intallah ") == "ag mohamed ag intallah"
    assert N.fold("Ɲɛlɛ Ɓaaba Ɗaada") == "nyele baaba daada"  # Bambara and Fula letters
    assert N.fold("Traoré 2") == "traore"
    assert N.fold("محمد") == "محمد"
    assert N.fold(None) == ""


def test_the_table_lists_at_least_150_names_and_no_spelling_twice() -> None:
    table = N.name_table()
    assert len(table.entries) >= 150
    assert {e.kind for e in table.entries} <= {"m", "f", "u", "family"}
    assert all(e.root for e in table.entries)
    with pytest.raises(ValueError, match="Mahamadou"):
        N.read_table(["canonical,root,kind,variants,note",
                      "Mamadou,muhammad,m,Mahamadou,", "Mohamed,muhammad,m,Mahamadou,"])


def test_the_table_file_is_read_with_its_comments() -> None:
    table = N.read_table(["# a comment", "canonical,root,kind,variants,note", "Hawa,hawwa,f,Awa|Haoua,"])
    entry = table.lookup("HAOUA")
    assert entry is not None and entry.key == "hawa" and entry.root == "hawwa"
    assert table.lookup("Mariam") is None


def test_unlisted_names_are_their_own_key_and_root() -> None:
    assert N.canonical("Tiécoura") == "tiecoura"
    assert N.root("Tiécoura") == "tiecoura"


def test_particles_are_kept_apart_not_lost() -> None:
    long = N.parse("Ag Mohamed Ag Intallah")
    short = N.parse("Ag Mohamed")
    assert long.tokens == ("mohamed", "intallah") and long.particles == ("ag", "ag")
    assert short.tokens == ("mohamed",) and short.particles == ("ag",)
    assert long.keys[0] == short.keys[0]  # the father's name agrees
    assert N.parse("Welet Mohamed").particles == ("walet",)
    assert N.parse("Oualet Mohamed").particles == ("walet",)
    assert N.parse("Ould Sidi").particles == ("ould",)
    assert N.parse("Mint Ahmed").particles == ("mint",)
    assert N.parse("Ben Ali").particles == ("ben",)
    assert N.parse("Ibn Ali").particles == ("ben",)
    assert N.parse("El Bachir").tokens == ("bachir",)


def test_a_particle_alone_is_a_name() -> None:
    assert N.parse("Ba").tokens == ("ba",)
    assert N.canonical("Ba") == N.canonical("Bah")
    assert N.parse("Amadou Ba").tokens == ("amadou", "ba")
    assert N.parse("Seydou Ba").tokens == ("seydou", "ba")  # not joined into Seydouba
    assert N.parse("Ben").tokens == ("ben",)


def test_words_written_apart_are_joined_into_one_name() -> None:
    assert N.name_key("Abdoul Karim") == N.name_key("Abdoulkarim") == "abdoulkarim"
    assert N.name_key("Al Moustapha") == N.name_key("Moustapha") == "almoustapha"
    assert N.name_key("Abou Bakar") == N.name_key("Boubacar")
    assert N.name_key("Al Ansari") == N.name_key("Ansari")


def test_titles_and_aliases() -> None:
    parts = N.parse("El Hadj Mamadou Traoré dit Madou")
    assert parts.tokens == ("mamadou", "traore")
    assert parts.particles == ("hadj",)
    assert parts.aliases == ("madou",)
    wife = N.parse("Fatoumata Diarra épouse Coulibaly")
    assert wife.tokens == ("fatoumata", "diarra") and wife.alias_keys == ("coulibaly",)
    assert N.parse("Mme Aminata Sow").tokens == ("aminata", "sow")


def test_keys_of_a_whole_name() -> None:
    assert N.name_key("Mahamadou Trawore") == N.name_key("Mamadou Traoré") == "mamadou traore"
    assert N.root_key("Mohamed Keita") == N.root_key("Mamadou Kéïta") == "muhammad keita"
    assert N.phonetic_key("Mahamadou Trawore") == "mamadu traur"


def test_swapped_given_and_family_names_are_detected() -> None:
    assert N.token_set("Mamadou", "Traoré") == N.token_set("Traore", "Mahamadou") == ("mamadou", "traore")
    assert N.swapped("Traoré", "Mamadou", "Mahamadou", "Traore")
    assert not N.swapped("Mamadou", "Traoré", "Mahamadou", "Traore")
    assert not N.swapped("Mamadou", "Mamadou", "Mamadou", "Mamadou")
    assert not N.swapped(None, "Traoré", "Traoré", None)


@pytest.mark.parametrize(("full", "given", "family"), [
    ("Mamadou Traoré", "mamadou", "traore"),
    ("TRAORE Mamadou", "mamadou", "traore"),
    ("Fatoumata Bintou Diallo", "fatoumata bintou", "diallo"),
    ("Mohamed Ag Intallah", "mohamed", "ag intallah"),
    ("Sidi Mohamed Ould Sidi", "sidi mohamed", "ould sidi"),
    ("Aminata Sow dite Mina", "aminata", "sow"),
    ("Aminata", "aminata", ""),
    ("Coulibaly", "", "coulibaly"),
    ("", "", ""),
])
def test_full_names_are_split_into_given_and_family(full: str, given: str, family: str) -> None:
    assert N.split_full_name(full) == (given, family)
