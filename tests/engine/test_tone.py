"""The tone reading: stance toward the listener apart from the topic's mood (issue 11 §4).

The accuracy test reads the labelled set tests/engine/tone_labelled.toml (written before the
lexicon) and asserts floors the reading reaches; the VADER-sign baseline it replaces is
measured beside it, so the comparison is in the test output (`pytest -s`).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.engine.sentiment import analyze
from sidecar.engine.tone import ToneReading, lexicon, load_lexicon, neutral_reading, read
from sidecar.engine.types import Sentiment
from sidecar.errors import ConfigError

LABELLED = Path(__file__).with_name("tone_labelled.toml")
STANCE_FLOOR = 0.90
"""Stance accuracy on the labelled set: 95/102 = 0.93 (the lexicon's first run, before any
change made after looking at the misses: 92/102; the VADER sign: 48/102 = 0.47)."""
VALENCE_FLOOR = 0.84
"""Valence accuracy on the labelled set: 89/102 = 0.87 (first run 86/102; VADER: 60/102)."""
MAX_FLIPS = 2
"""Lines read warm when hostile or the other way round (both are sarcasm today)."""
SAD = {"grief", "bad_news", "fear", "confession"}


def _labelled() -> tuple[list[str], list[dict[str, Any]]]:
    data = tomllib.loads(LABELLED.read_text("utf-8"))
    return list(data["listener"]), list(data["line"])


def _vader_stance(text: str) -> str:
    return {"positive": "warm", "negative": "hostile", "neutral": "neutral"}[analyze(text).label]


def test_the_labelled_set_is_big_and_covers_every_category() -> None:
    _, lines = _labelled()
    assert len(lines) >= 60
    cats = {line["category"] for line in lines}
    wanted = {"insult", "compliment", "grief", "bad_news", "fear", "boast", "apology", "threat", "flirt", "question"}
    assert wanted <= cats
    for line in lines:
        assert line["stance"] in {"hostile", "warm", "neutral"}, line
        assert line["valence"] in {"negative", "positive", "neutral"}, line


def test_accuracy_on_the_labelled_set_beats_the_vader_baseline() -> None:
    names, lines = _labelled()
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # stance, valence, vader, n
    flips: list[str] = []
    sad_read_hostile: list[str] = []
    for line in lines:
        r = read(line["text"], names)
        row = per[line["category"]]
        row[0] += r.stance_label == line["stance"]
        row[1] += r.valence_label == line["valence"]
        row[2] += _vader_stance(line["text"]) == line["stance"]
        row[3] += 1
        if {r.stance_label, line["stance"]} == {"warm", "hostile"}:
            flips.append(line["text"])
        if line["category"] in SAD and r.stance_label == "hostile":
            sad_read_hostile.append(line["text"])
    n = len(lines)
    stance, valence, baseline = (sum(row[k] for row in per.values()) / n for k in range(3))
    print(f"\n{'category':12} {'stance':>7} {'valence':>8} {'vader':>6}")
    for cat, (s, v, b, k) in sorted(per.items()):
        print(f"{cat:12} {s:>3}/{k:<3} {v:>4}/{k:<3} {b:>2}/{k:<3}")
    print(f"{'all':12} {stance:7.2f} {valence:8.2f} {baseline:6.2f}  flips: {flips}")
    assert stance >= STANCE_FLOOR
    assert valence >= VALENCE_FLOOR
    assert stance > baseline + 0.3
    assert len(flips) <= MAX_FLIPS, flips
    assert sad_read_hostile == []


@pytest.mark.parametrize(
    "text",
    [
        "My mother died last week.",
        "I'm scared of the wolves.",
        "The mill burned down last night.",
        "I have to confess something: I lied to my father.",
    ],
)
def test_sad_news_is_never_hostility(text: str) -> None:
    r = read(text, ("Ansel",))
    assert r.stance_label != "hostile"
    assert r.valence_label == "negative"
    assert r.sad_news


def test_grief_told_in_trust_is_confiding_but_news_about_the_world_is_not() -> None:
    assert read("My mother died last week.").confiding
    assert not read("The mill burned down last night.").confiding


def test_an_insult_needs_a_target() -> None:
    aimed = read("The baker is a liar and a thief, and so are you.")
    assert aimed.stance_label == "hostile" and "insult" in aimed.cues
    elsewhere = read("The baker is a liar and a thief.")
    assert elsewhere.stance_label == "neutral"


def test_the_npc_s_name_aims_a_line() -> None:
    assert read("What a clumsy fool, Ansel.", ("Ansel",)).stance_label == "hostile"
    assert read("Ansel is a good smith.", ("Ansel",)).stance_label == "warm"
    assert read("Goldie is a fine cook.", ("Ansel",)).stance_label == "neutral"


def test_a_bare_short_insult_is_aimed_at_the_listener() -> None:
    assert read("Idiot!").stance_label == "hostile"


def test_negation_turns_an_insult_into_reassurance_and_a_compliment_into_a_slight() -> None:
    assert read("You're not useless at all.").stance_label == "warm"
    assert read("You are not kind.").stance_label == "hostile"


def test_threats_are_the_most_hostile() -> None:
    threat = read("Give me the key or I'll break your neck.")
    insult = read("You are a clumsy oaf.")
    assert threat.stance < insult.stance <= -0.6


def test_sarcastic_thanks_is_hostile_not_warm() -> None:
    r = read("Thanks for nothing.")
    assert r.stance_label == "hostile" and "sarcasm" in r.cues


def test_sorry_before_news_is_a_courtesy_and_sympathy_is_warm() -> None:
    news = read("I'm sorry to say the bridge is out.")
    assert news.stance_label == "neutral" and "apology" not in news.cues
    assert read("I'm so sorry for your loss.").stance_label == "warm"
    assert read("I'm sorry I shouted at you.").stance_label == "warm"


def test_vader_s_like_in_a_comparison_is_no_praise() -> None:
    r = read("Your bread tastes like old boots.")
    assert r.sentiment.compound > 0  # VADER reads "like" as praise
    assert r.stance_label != "warm" and r.valence_label != "positive"


def test_a_comparison_aimed_at_the_listener_runs_them_down_unless_it_is_kind() -> None:
    assert read("Your stew smells like a wet dog.").stance_label == "hostile"
    assert "disparaging" in read("You look like a scarecrow.").cues
    assert read("You sing like an angel.").stance_label != "hostile"
    assert read("Your bread tastes like a dream.").stance_label != "hostile"
    assert read("The sky looks like rain.").stance_label == "neutral"  # not aimed at anyone
    assert read("I'd like a room for the night, please.").valence_label == "neutral"


def test_a_targeted_line_no_cue_explains_takes_vader_s_stance() -> None:
    assert read("You made this wonderful, delightful evening happen.").stance_label == "warm"


def test_a_given_sentiment_is_used_as_is_not_recomputed() -> None:
    forced = Sentiment("negative", -0.9)
    r = read("What do you sell?", sentiment=forced)
    assert r.sentiment is forced


def test_empty_and_symbol_only_lines_are_neutral() -> None:
    for text in ("", "   ", "?!…", "🙂"):
        r = read(text)
        assert r.stance_label == "neutral" and r.stance == 0.0


def test_tone_labels_for_the_embedded_engine() -> None:
    s = Sentiment("neutral", 0.0)
    assert ToneReading(s, 0.5, 0.0).tone == "friendly"
    assert ToneReading(s, -0.5, 0.0).tone == "rude"
    assert neutral_reading().tone == "neutral"


def test_the_shipped_lexicon_loads_and_a_broken_one_is_a_clear_error() -> None:
    lex = lexicon()
    assert {c.name for c in lex.stance} >= {"insult", "threat", "thanks", "apology", "flirt", "compliment"}
    assert {c.name for c in lex.valence} >= {"grief", "fear", "confession", "bad_news", "good_news", "boast"}
    with pytest.raises(ConfigError, match="tone.toml"):
        load_lexicon("[target]\nwords = [")
    with pytest.raises(ConfigError, match="weight"):
        load_lexicon(
            '[target]\nwords=["you"]\n[negation]\nwords=["not"]\nwindow=3\n'
            '[stance.x]\nweight=3\nphrases=["a"]\n[valence]\n[softener]\nphrases=[]\n'
            "[comparison]\ndisparaging=-0.4\nphrases=[]\nsimiles=[]\npraise=[]\n"
        )
    with pytest.raises(ConfigError, match="letters before"):
        load_lexicon(
            '[target]\nwords=["you"]\n[negation]\nwords=["not"]\nwindow=3\n'
            '[stance.x]\nweight=0.5\nphrases=["a*"]\n[valence]\n[softener]\nphrases=[]\n'
            "[comparison]\ndisparaging=-0.4\nphrases=[]\nsimiles=[]\npraise=[]\n"
        )


@given(st.text(max_size=300), st.lists(st.text(max_size=12), max_size=3))
def test_any_text_reads_within_range(text: str, names: list[str]) -> None:
    r = read(text, names)
    assert -1.0 <= r.stance <= 1.0 and -1.0 <= r.valence <= 1.0
    assert r.stance_label in {"hostile", "warm", "neutral"}


def test_a_phrase_matches_contracted_or_spelled_out() -> None:
    for text in ("I'll gut you like a fish.", "I will gut you like a fish."):
        assert read(text).cues[:1] == ("threat",), text


def test_the_longest_phrase_wins_a_greeting_is_no_compliment() -> None:
    r = read("Good evening, Captain.", ("Captain Vane", "Vane"))
    assert r.cues == ("greeting",) and r.stance_label == "warm" and r.stance < 0.6


@pytest.mark.parametrize("line", ["You're a quack.", "You are a tyrant.", "Rook, you are tone deaf.", "You charlatan!"])
def test_an_insult_to_the_trade_is_an_insult(line: str) -> None:
    """"You're a quack." to the herbalist and "You're a tyrant." to the captain were read as
    nothing at all (found in play): no reaction, no affinity change."""
    assert read(line, ("Sorrel", "Rook")).stance_label == "hostile"


@pytest.mark.parametrize("line", ["I am a quack, they say.", "The charlatan in the city cheated me."])
def test_the_same_words_not_aimed_at_the_listener_are_not(line: str) -> None:
    assert read(line, ("Sorrel",)).stance_label != "hostile"


@pytest.mark.parametrize("line", ["Are you a witch?", "Is it true you poisoned a man?", "Do you hate Rook?"])
def test_a_plain_yes_no_question_is_no_insult_by_vader_alone(line: str) -> None:
    """"Are you a witch?" to the herbalist got "Rudeness is rarely an argument." (VADER's
    "witch"); an insult in a question is a cue's ("Are you stupid?")."""
    assert read(line, ("Sorrel",)).stance_label != "hostile"
    assert read("Are you stupid?", ("Sorrel",)).stance_label == "hostile"


@pytest.mark.parametrize(
    ("line", "hostile"),
    [
        ("This ale tastes like vinegar.", True),
        ("This cider tastes like dishwater.", True),
        ("That stew smells off.", True),
        ("This stew tastes really bad.", True),
        ("These pies taste a bit stale.", True),
        ("This room smells musty.", True),
        ("This tastes like home.", False),  # kind
        ("This soup tastes amazing!", False),
        ("The air smells like rain.", False),  # no "this": not what the listener serves
        ("That doesn't taste bad at all.", False),
        ("My cloak smells like wet dog.", False),
    ],
)
def test_slighting_what_the_npc_serves_is_aimed_at_the_npc(line: str, hostile: bool) -> None:
    """"This cider tastes like vinegar" to the innkeeper was no insult (a comparison needed
    "your"): a taste or smell of "this" or "that", likened to nothing kind or called spoiled,
    is said of what the listener serves."""
    r = read(line, ("Goldie",))
    assert (r.stance_label == "hostile") is hostile, (r.stance, r.cues)
    if hostile:
        assert r.targeted and "disparaging" in r.cues


@pytest.mark.parametrize(
    ("line", "stance"),
    [
        ("No thanks.", "neutral"),  # VADER's -0.34 was read as rudeness to the innkeeper's offer
        ("Nah.", "neutral"),
        ("No, you idiot.", "hostile"),  # was "reassurance": the "no" turned the insult round
        ("No, you are useless.", "hostile"),
        ("You are no idiot.", "warm"),
        ("You are not useless.", "warm"),
    ],
)
def test_a_plain_no_is_no_stance_and_no_negates_only_the_word_after_it(line: str, stance: str) -> None:
    assert read(line, ("Goldie",)).stance_label == stance
