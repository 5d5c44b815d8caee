"""Matching typed names to a catalogue (tastemap.data.names): exact, forgiving, ambiguous, unknown."""
from __future__ import annotations

import pytest

from tastemap.data.names import AmbiguousName, NameIndex, UnknownName, fold, suggestions

CATALOGUE = ["Björk", "Sigur Rós", "Guns N' Roses", "AC/DC", "Simon & Garfunkel", "Mø",
             "!!!", "Muse", "Radiohead", "Portishead", "Beyoncé", "BEYONCE", "The Beatles"]


@pytest.mark.parametrize("typed, stored", [
    ("Björk", "Björk"),                     # exact
    ("bjork", "Björk"),                     # accent and case
    ("  BJÖRK ", "Björk"),                  # spaces
    ("sigur ros", "Sigur Rós"),
    ("guns n roses", "Guns N' Roses"),      # punctuation
    ("ac dc", "AC/DC"),
    ("Simon and Garfunkel", "Simon & Garfunkel"),
    ("MO", "Mø"),                           # a letter NFKD leaves alone
    ("!!!", "!!!"),                         # exact only: its key is empty
    ("radiohead", "Radiohead"),
])
def test_exact_then_forgiving(typed, stored):
    index = NameIndex(CATALOGUE, "artist")
    match = index.find(typed)
    assert match.name == stored and CATALOGUE[match.idx] == stored
    assert match.how == ("exact" if typed == stored else "forgiving")


def test_exact_wins_over_an_ambiguous_key():
    index = NameIndex(CATALOGUE, "artist")
    assert index.find("BEYONCE").how == "exact"
    assert index.find("Beyoncé").idx == CATALOGUE.index("Beyoncé")


def test_two_names_with_one_key_are_reported_not_guessed():
    index = NameIndex(CATALOGUE, "artist", where="data/artists.parquet")
    with pytest.raises(AmbiguousName) as err:
        index.find("beyonce")
    message = str(err.value)
    assert "ambiguous artist 'beyonce' in data/artists.parquet" in message
    assert "'Beyoncé', 'BEYONCE'" in message and "give the exact name" in message
    assert isinstance(err.value, UnknownName)  # callers catching UnknownName see it too


def test_unknown_names_get_suggestions_all_at_once():
    index = NameIndex(CATALOGUE, "artist")
    with pytest.raises(UnknownName, match=r"unknown artist 'Radiohed'; did you mean 'Radiohead'"):
        index.find("Radiohed")
    with pytest.raises(UnknownName) as err:
        index.find_all(["Muse", "Portished", "Zzyzx Qwv", "beyonce"])
    assert str(err.value) == ("3 artists not found: 'Portished' (did you mean 'Portishead', "
                              "'Radiohead'?), "
                              "'Zzyzx Qwv', 'beyonce' (ambiguous: it matches 'Beyoncé', "
                              "'BEYONCE'; give the exact name)")
    with pytest.raises(AmbiguousName, match="ambiguous artist 'beyonce': it matches"):
        index.find_all(["Muse", "beyonce"])  # one failure: its own message
    assert [m.name for m in index.find_all(["muse", "AC-DC"])] == ["Muse", "AC/DC"]


def test_suggestions_prefer_names_containing_the_query():
    assert suggestions("beatles", CATALOGUE)[0] == "The Beatles"
    assert suggestions("can", ["Dead Can Dance", "Can", "Cannibal Ox"]) == [
        "Can", "Cannibal Ox", "Dead Can Dance"]
    assert suggestions("zzz", ["Can", "Björk"]) == []


def test_fold_ignores_only_case_accents_and_punctuation():
    assert fold("Sigur Rós") == fold("SIGUR ROS") == "sigurros"
    assert fold("Muse") != fold("Mute")
    assert fold("日本語 バンド") != fold("日本語 ハント")  # other scripts keep marks
    assert fold("Ｍｕｓｅ") == "muse"  # NFKD: full-width letters
