"""Reading the player's line: names, likes, asks, leave-taking, apologies, requests, tone slot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.engine.actions import accept_options
from sidecar.engine.reading import MAX_PARSED_CHARS, Reading, load_patterns, read
from sidecar.engine.types import Sentiment
from sidecar.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I'm Ana, by the way.", "Ana"),
        ("my name is wren", "Wren"),
        ("Call me Ishmael.", "Ishmael"),
        ("I\u2019m Mara-Lee.", "Mara-Lee"),
        ("I'm tired.", None),  # not a name: a state
        ("i'm bob", None),  # implicit names must be capitalised
        ("I'm a traveller.", None),
    ],
)
def test_names(text: str, name: str | None) -> None:
    assert read(text).name == name


def test_likes_and_dislikes_in_second_person() -> None:
    r = read("I really love walking my dog, but I hate mornings.")
    assert r.likes == (("love", "walking your dog"),)
    assert r.dislikes == (("hate", "mornings"),)
    assert "love" not in r.tokens and "dog" in r.tokens  # the like's verb is no topic word
    assert read("I'm a big fan of cheese rolling.").likes == (("like", "cheese rolling"),)
    assert read("I can't stand rain.").dislikes == (("can't stand", "rain"),)


def test_liking_the_npc_is_affection_not_a_hobby() -> None:
    r = read("I like you.")
    assert r.affection and r.likes == ()


@pytest.mark.parametrize(
    ("text", "goodbye"),
    [("Goodbye!", True), ("I have to go now.", True), ("See you tomorrow at noon", False),
     ("Don't leave!", False), ("I'm off, take care.", True), ("Take care of the horse.", False)],
)
def test_goodbye(text: str, goodbye: bool) -> None:
    assert read(text).goodbye is goodbye


def test_questions_about_the_player_and_the_npc() -> None:
    assert read("What's my name?").asks_name
    assert read("Do you remember what I like?").asks_likes
    assert read("Who are you?").asks_npc_name
    assert read("Tell me about yourself.").asks_self
    assert read("What do you think of the mayor?").asks_opinion
    assert read("How are you?").how
    r = read("Where is the mill?")
    assert r.question and not (r.asks_name or r.asks_self or r.asks_npc_name)


@pytest.mark.parametrize(
    "text",
    ["Sorry!", "Please forgive me.", "My fault, truly.", "I was wrong.", "I apologise.",
     "Let me make it up to you.", "My apologies."],
)
def test_apologies(text: str) -> None:
    assert read(text).sorry


def test_requests_flirts_greetings_thanks() -> None:
    assert read("Could you help me with my sword?").requests
    assert not read("The sword is chipped.").requests
    assert read("You have lovely eyes.").flirts and not read("The weather is grim.").flirts
    assert read("Hello there!").greeting and not read("Well, hello is a word.").greeting
    assert read("Thanks a lot.").thanks and read("Thanks a lot.").addressed
    assert not read("The river is cold.").addressed


def test_intents_name_the_flags_that_are_set() -> None:
    assert read("Hello! How are you?").intents == frozenset({"greeting", "how", "question", "addressed"})
    assert read("Bread.").intents == frozenset()


def test_the_tone_slot_is_filled_from_the_sentiment_when_given() -> None:
    assert read("You idiot.").tone == "neutral"  # no sentiment given: no tone read
    assert read("You idiot.", Sentiment("negative", -0.8)).tone == "rude"
    assert read("Thank you!", Sentiment("positive", 0.6)).tone == "friendly"


def test_only_the_start_of_a_huge_line_is_read() -> None:
    late = "x " * MAX_PARSED_CHARS + "I'm Ana."
    assert read(late).name is None
    assert read("I'm Ana. " + late).name == "Ana"


def test_readings_are_values() -> None:
    a, b = read("I'm Ana."), read("I'm Ana.")
    assert a == b and isinstance(a, Reading)
    with pytest.raises(AttributeError):
        a.name = "Bo"  # type: ignore[misc]


@given(st.text(max_size=300))
def test_any_text_reads_without_raising(text: str) -> None:
    r = read(text)
    assert all(isinstance(t, str) and t for t in r.tokens)
    assert r.name is None or 2 <= len(r.name) <= 24


@pytest.mark.parametrize(
    ("text", "asks_only"),
    [
        ("What is your honest opinion of Sorrel?", True),
        ("Could you kindly tell me about your lovely village?", True),
        ("Tell me more about your work, please.", True),
        ("Hello. How are you?", False),
        ("You're lovely. What's your name?", False),
        ("You're very kind.", False),
        ("", False),
    ],
)
def test_asks_only(text: str, asks_only: bool) -> None:
    assert read(text).asks_only is asks_only


@pytest.mark.parametrize(
    "line", ["Did I promise you something?", "Have I told you my name?", "Did I ever give you anything?"]
)
def test_asking_what_the_player_did_before_is_a_memory_question(line: str) -> None:
    assert read(line).asks_memory


@pytest.mark.parametrize(
    ("line", "asks"),
    [
        ("Tell me a joke.", True),
        ("tell us a funny story", True),
        ("Know any riddles?", True),
        ("Heard any good jokes lately?", True),
        ("Do you know a good joke?", True),
        ("Make me laugh.", True),
        ("Say something funny!", True),
        ("One more joke, please.", True),
        ("Can you tell a joke?", True),
        # A joke told of, or talked about, asks for none.
        ("I heard a joke yesterday.", False),
        ("I know a good joke.", False),
        ("That joke was terrible.", False),
        ("Are you joking?", False),
        ("Don't joke about my mother.", False),
        ("Tell me about the forge.", False),
    ],
)
def test_asking_for_a_joke(line: str, asks: bool) -> None:
    assert read(line).asks_joke is asks
    assert ("asks_joke" in read(line).intents) is asks


@pytest.mark.parametrize(
    ("line", "more"),
    [
        ("Another one!", True),
        ("Ha! Another one!", True),
        ("Haha, one more, please.", True),
        ("Again!", True),
        ("Go on.", True),
        ("Another ale for my friend.", False),  # the same again is the whole line
        ("Tell me more about the forge.", False),
        ("", False),
    ],
)
def test_asking_for_the_same_again(line: str, more: bool) -> None:
    assert read(line).more is more


@pytest.mark.parametrize(
    ("line", "laughs", "unamused"),
    [
        ("Haha, good one!", True, False),
        ("lol", True, False),
        ("That's hilarious.", True, False),
        ("You're funny.", True, False),
        ("That wasn't funny at all.", False, True),
        ("Haha, not funny.", False, True),  # not amused wins
        ("Terrible joke.", False, True),
        ("I don't get it.", False, True),
        ("Tell me about the forge.", False, False),
        ("Harold is my brother.", False, False),
    ],
)
def test_how_a_joke_went_down(line: str, laughs: bool, unamused: bool) -> None:
    heard = read(line)
    assert (heard.laughs, heard.unamused) == (laughs, unamused)


@pytest.mark.parametrize(
    ("line", "price"),
    [
        ("How much for a room?", True),
        ("How much is the stew?", True),
        ("What would it cost to mend my sword?", True),
        ("What's the price of a horseshoe?", True),
        ("What do you charge for a bed?", True),
        ("How much?", True),
        ("How much do you love me?", False),
        ("How much longer will you be?", False),
        ("I love you so much.", False),
    ],
)
def test_asking_the_price(line: str, price: bool) -> None:
    assert read(line).asks_price is price


@pytest.mark.parametrize(
    ("line", "agrees"),
    [
        ("Yes, I'll take it.", True),
        ("Deal!", True),
        ("OK, deal.", True),
        ("Sure, why not.", True),
        ("I'll take the room.", True),
        ("Yes, but that's too much.", False),  # haggling is no yes
        ("No thanks.", False),
        ("Yesterday was rainy.", False),
        ("Surely not.", False),
    ],
)
def test_saying_yes_to_an_offer(line: str, agrees: bool) -> None:
    assert read(line).agrees is agrees


def test_every_accept_option_reads_as_a_yes() -> None:
    assert accept_options() and all(read(line).agrees for line in accept_options())


@pytest.mark.parametrize(
    ("line", "work"),
    [
        ("Do you have any work for me?", True),
        ("Got any jobs going?", True),
        ("I need a job. Anything you need doing?", True),
        ("Can I help you with anything?", True),
        ("Is there anything I can do for you?", True),
        ("Need a hand?", True),
        ("Do you need any help?", True),
        ("I'm looking for work.", True),
        ("Any errands I could run?", True),
        ("What can I do for you?", True),
        ("Give me a quest.", True),
        ("Put me to work!", True),
        ("Any more work?", True),
        ("Have you got any odd jobs?", True),
        ("Tell me about your work.", False),
        ("I need a hand with this.", False),  # the player asks for help
        ("Can I help myself to some stew?", False),
        ("Do you like your work?", False),
        ("I found some work in the city.", False),
        ("How is work?", False),
        ("Can you help me?", False),
        ("Any more stew?", False),
        ("What work do you do?", False),
    ],
)
def test_offering_to_work_for_the_npc(line: str, work: bool) -> None:
    assert read(line).asks_work is work


@pytest.mark.parametrize(
    ("line", "applauds"),
    [
        ("That was beautiful.", True),
        ("Wow, that was amazing!", True),
        ("That was beautiful, thank you!", True),
        ("Bravo!", True),
        ("What a lovely song!", True),
        ("Well played.", True),
        ("That was beautiful but sad.", False),
        ("The weather is beautiful.", False),
        ("You are beautiful.", False),  # a compliment to the NPC, read by the tone
        ("That was a beautiful day.", False),
        ("It's lovely weather.", False),
    ],
)
def test_praising_what_the_npc_just_did(line: str, applauds: bool) -> None:
    assert read(line).applauds is applauds


@pytest.mark.parametrize(
    ("line", "declines"),
    [
        ("No, sorry, not today.", True),
        ("No thanks.", True),
        ("Nah.", True),
        ("Maybe later.", True),
        ("I'll pass.", True),
        ("Sorry, I can't.", True),
        ("Yes please.", False),
        ("Nobody knows.", False),
        ("Nothing, really.", False),
        ("Now then.", False),
        ("I'm good at fishing.", False),
    ],
)
def test_saying_no_to_an_offer(line: str, declines: bool) -> None:
    assert read(line).declines is declines


_PATTERNS_FILE = Path(__file__).resolve().parents[2] / "sidecar" / "data" / "reading.toml"


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda t: t.replace("goodbye = [", "farewells = [", 1), r"unknown \['farewells'\]"),
        (lambda t: t.replace("[patterns]", "[patterns]\nextra = ['x']", 1), r"unknown \['extra'\]"),
        (lambda t: t.replace("{{jobs}}", "{{chores}}", 1), r"patterns.asks_work: unknown part \{\{chores\}\}"),
        (lambda t: t.replace("more = [", "more = ['(unclosed', ", 1), r"patterns.more: missing \)"),
        (lambda t: t.replace("thanks = [", "thanks = [1, ", 1), "patterns.thanks: must be a non-empty list of strings"),
    ],
)
def test_a_broken_patterns_file_is_a_config_error_naming_the_key(edit: Any, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        load_patterns(edit(_PATTERNS_FILE.read_text(encoding="utf-8")))


def test_a_missing_pattern_is_named() -> None:
    text = _PATTERNS_FILE.read_text(encoding="utf-8")
    start = text.index("\nthanks = [")
    end = text.index("\n", text.index("]", start))
    with pytest.raises(ConfigError, match=r"missing \['thanks'\]"):
        load_patterns(text[:start] + text[end:])
