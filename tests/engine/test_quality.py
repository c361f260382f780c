"""Quality scorer rules (one test per rule, both directions) and the bounded retry gate."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.quality import (
    DEFAULT_THRESHOLD,
    RULES,
    SEVERE,
    Quality,
    QualityGate,
    score,
)
from sidecar.engine.text import estimate_tokens, similarity
from sidecar.engine.types import PLAYER, Line
from sidecar.errors import ConfigError, ProviderTimeout
from sidecar.personas.model import Persona

BRAM = Persona(
    id="bram",
    name="Bram",
    aliases=["Old Bram"],
    role="blacksmith",
    bio="Keeps the village forge.",
    greetings=["Hm. Welcome."],
    farewells=["Off with you."],
)
HISTORY = (
    Line("bram", "Welcome to my forge, traveller. What brings you here today?"),
    Line(PLAYER, "I need a new sword."),
    Line("bram", "Swords take time. The steel must rest overnight."),
    Line(PLAYER, "How much would it cost?"),
)
CLEAN = "Twenty silver, and not a coin less. Can you pay that?"


def q(text: str, history: Sequence[Line] = HISTORY, max_tokens: int = 120) -> Quality:
    return score(
        text,
        persona=BRAM,
        history=history,
        preset_max_tokens=max_tokens,
        player_name="Alex",
        other_names=("Mara", "Old Tom"),
    )


def test_clean_engaging_line_scores_full() -> None:
    result = q(CLEAN)
    assert result.score == 100
    assert set(result.names) == {"addresses_player", "asks_question"}


def test_clean_line_without_engagement_has_no_hits() -> None:
    result = q("The steel sings when the fire is right.")
    assert result == Quality(100, ())


@pytest.mark.parametrize(
    "text",
    [
        "As an AI, I don't have a forge.",
        "As a language model I have no opinions on swords.",
        "I'm just an AI, but swords are neat.",
        "I cannot help with that request.",
        "I can\u2019t assist with that.",
        "I'm sorry, but I can't help with swords.",
        "I apologize, but that goes against my guidelines.",
        "That would violate the content policy.",
        "ChatGPT says steel is strong.",
    ],
)
def test_breaks_character(text: str) -> None:
    result = q(text)
    assert "breaks_character" in result.names
    assert result.score < DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "text",
    [
        "I cannot believe you came back, lad.",  # seed's bare "i cannot" flagged this
        "I can't help thinking that blade is cursed.",
        "My apologies for the soot on the bench.",
        "Language of the old smiths is all hammer and hiss.",
    ],
)
def test_in_character_lines_are_not_flagged_as_breaking_character(text: str) -> None:
    assert "breaks_character" not in q(text).names


def test_bonus_never_redeems_a_severe_line() -> None:
    result = q("As an AI, I can't help with that. Can you ask something else?")
    assert result.names == ("breaks_character",)
    assert result.score == 100 + RULES["breaks_character"]


def test_empty_line_scores_zero() -> None:
    assert q("   \n ").score == 0
    assert q("").names == ("empty",)


def test_too_short() -> None:
    assert "too_short" in q("Hm. No.").names
    assert "too_short" not in q("Hm. No, lad.").names


def test_too_long_for_the_preset() -> None:
    text = "The forge burns hot and the anvil rings all day long. " * 4
    assert estimate_tokens(text) > 40
    assert "too_long" in q(text, max_tokens=40).names
    assert "too_long" not in q(text, max_tokens=200).names


def test_bad_budget_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="preset_max_tokens"):
        q(CLEAN, max_tokens=0)


def test_exact_repeat_of_a_recent_npc_line() -> None:
    result = q("Swords take time. The steel must rest overnight.")
    assert "repeats_line" in result.names
    assert result.score < DEFAULT_THRESHOLD


def test_exact_repeat_ignores_case_and_punctuation() -> None:
    assert "repeats_line" in q("swords take time... the steel must rest overnight!").names


def test_near_repeat_by_small_edit() -> None:
    text = "Welcome to my forge, traveler! What brings you here today?"
    result = q(text)
    assert "near_repeat" in result.names
    assert result.score < DEFAULT_THRESHOLD


def test_near_repeat_by_reordered_words() -> None:
    assert similarity("the steel must rest overnight", "overnight the steel must rest") >= 0.85
    assert "near_repeat" in q("Overnight the steel must rest. Swords take time.").names


def test_repeating_the_player_is_not_an_npc_repeat() -> None:
    assert not {"repeats_line", "near_repeat"} & set(q("How much would it cost?").names)


def test_echoing_the_players_own_line_back_is_severe() -> None:
    # Found with a 270M local model, which answered the player's line with that line.
    for text in ("How much would it cost?", "How much would it cost, then?"):
        result = q(text)
        assert "echoes_player" in result.names and result.severe and result.score < DEFAULT_THRESHOLD
    assert "echoes_player" not in q("It would cost you twenty silver.").names
    assert "echoes_player" not in q(CLEAN, history=[Line("bram", "Hm.")]).names, "no player line: nothing to echo"


@pytest.mark.parametrize(
    "text",
    [
        "<|im_start|>user",
        "Aye.<|im_end|>",
        "Hm. <end_of_turn>",
        "[INST] Say hello [/INST]",
        "the player said to me: <a curious follow-up question about what Bram said>",
        "},",
    ],
)
def test_template_tokens_placeholders_and_json_fragments_are_severe(text: str) -> None:
    result = q(text)
    assert "leaks_markup" in result.names and result.severe and result.score < DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "text",
    ["Use <b>tongs</b>, never your bare hands.", "Twenty silver <3, friend.", "The sign says: {closed}, sorry."],
)
def test_ordinary_brackets_are_not_markup(text: str) -> None:
    assert "leaks_markup" not in q(text).names


def test_a_line_without_letters_is_severe() -> None:
    for text in ("...", "?!", "12 34"):
        result = q(text)
        assert "no_words" in result.names and result.score < DEFAULT_THRESHOLD
    assert "no_words" not in q("Hm... twelve.").names


def test_only_recent_npc_lines_count() -> None:
    old = [Line("bram", "The steel must rest overnight, always.")]
    filler = [Line("bram", f"Line number {i} about something else entirely.") for i in range(6)]
    assert "repeats_line" not in q("The steel must rest overnight, always.", old + filler).names
    assert "repeats_line" in q("The steel must rest overnight, always.", filler + old).names


@pytest.mark.parametrize(
    "text",
    [
        "Twenty silver.\nAlex: That's too much!",
        "Twenty silver. Player: fine, I'll pay.",
        "You: I'll take it.",
        "**Alex:** deal.",
        "User: ok",
    ],
)
def test_speaks_for_the_player(text: str) -> None:
    result = q(text)
    assert "speaks_for_player" in result.names
    assert result.score < DEFAULT_THRESHOLD


def test_addressing_the_player_by_name_is_fine() -> None:
    result = q("Alex, you drive a hard bargain. Thank you: come again.")
    assert "speaks_for_player" not in result.names


def test_speaks_for_another_npc() -> None:
    result = q("I'll ask around.\nMara: He always says that.")
    assert "speaks_for_other" in result.names
    assert "speaks_for_other" in q("Old Tom: nonsense, lad.").names
    assert "speaks_for_other" not in q("Mara says hello, by the way.").names


def test_third_person_self_reference_is_a_penalty() -> None:
    result = q("Bram thinks the price is fair.")
    assert "third_person_self" in result.names
    assert result.score == 100 + RULES["third_person_self"]
    assert RULES["third_person_self"] < 0  # the seed's "bonus" subtracted; this one says so


@pytest.mark.parametrize(
    "text",
    [
        "I'm Bram, the smith here.",
        "My name is Bram and this is my forge.",
        "Folks call me Old Bram these days.",
        "Bram here, what do you need?",
        "Brambles grow by the river.",
    ],
)
def test_self_introduction_is_not_third_person(text: str) -> None:
    assert "third_person_self" not in q(text).names


def test_self_label_is_minor_and_not_third_person() -> None:
    result = q("Bram: Twenty silver, take it or leave it.")
    assert "self_label" in result.names
    assert "third_person_self" not in result.names
    script = q("Twenty silver.\nBram: Final offer.")
    assert "self_label" in script.names and "third_person_self" not in script.names


def test_exclamation_spam() -> None:
    assert "exclamation_spam" in q("Hot! Hot! Mind the anvil! Careful!").names
    assert "exclamation_spam" not in q("Hot! Mind the anvil! Careful!").names


def test_engagement_bonus_is_word_based() -> None:
    assert "addresses_player" in q("Your blade is ready.").names
    assert "addresses_player" not in q("The youth of today buy cheap blades.").names
    assert "asks_question" in q("Steel or bronze, then?").names


def test_bonuses_offset_minor_penalties_only() -> None:
    result = q("Bram thinks you want steel! Hot! Hot! Hot! Right?")
    assert result.score == 100 + RULES["third_person_self"] + RULES["exclamation_spam"] + 20
    assert not result.severe
    assert q("Bram thinks you want steel. Right?").score == 100  # clamped


def test_as_dict_is_jsonable() -> None:
    d = q("Bram: Hot! Hot! Hot! Hot!").as_dict()
    assert isinstance(d["score"], int)
    assert {"name": "exclamation_spam", "points": -20, "detail": "4 '!'"} in d["rules"]  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400),
    player=st.one_of(st.none(), st.text(max_size=12)),
    others=st.lists(st.text(max_size=12), max_size=3),
    budget=st.integers(min_value=1, max_value=500),
)
def test_score_is_always_within_bounds(
    text: str, player: str | None, others: list[str], budget: int
) -> None:
    result = score(
        text,
        persona=BRAM,
        history=HISTORY,
        preset_max_tokens=budget,
        player_name=player,
        other_names=others,
    )
    assert 0 <= result.score <= 100
    assert all(hit.name in RULES and hit.points == RULES[hit.name] for hit in result.rules)
    if result.severe:
        assert not {"addresses_player", "asks_question"} & set(result.names)


# --- gate -------------------------------------------------------------------------------


def scorer(text: str) -> Quality:
    return q(text)


class Script:
    """A generator that plays back lines (or errors) by attempt number and records calls."""

    def __init__(self, *items: str | Exception) -> None:
        self.items = items
        self.calls: list[int] = []

    async def __call__(self, attempt: int) -> str:
        self.calls.append(attempt)
        item = self.items[attempt]
        if isinstance(item, Exception):
            raise item
        return item


BAD = "As an AI, I cannot help with that."
MEH = "Bram thinks so. Hot! Hot! Hot! Hot!"  # 100 - 15 - 20 = 65


async def test_gate_passes_first_good_line_without_retry() -> None:
    gen = Script(CLEAN, BAD)
    result = await QualityGate(60, 2).run(gen, scorer)
    assert gen.calls == [0]
    assert result.best_text == CLEAN and result.retries == 0 and result.passed
    assert [t for t, _ in result.attempts] == [CLEAN]


async def test_gate_retries_and_keeps_the_good_line() -> None:
    gen = Script(BAD, CLEAN)
    result = await QualityGate(60, 2).run(gen, scorer)
    assert gen.calls == [0, 1]
    assert result.best_text == CLEAN and result.retries == 1 and result.passed
    assert [t for t, _ in result.attempts] == [BAD, CLEAN]
    assert result.attempts[0][1].score < 60


async def test_gate_keeps_best_not_last_when_all_fail() -> None:
    worse = "Player: ok. As an AI I cannot help with that request!!!!"
    gen = Script(MEH, BAD, worse)
    result = await QualityGate(90, 2).run(gen, scorer)
    assert gen.calls == [0, 1, 2]  # bounded: 1 + max_retries
    assert result.best_text == MEH and not result.passed
    assert result.retries == 2 and len(result.attempts) == 3


async def test_gate_ties_keep_the_earliest() -> None:
    gen = Script(BAD, "As an AI I am not allowed.")
    result = await QualityGate(90, 1).run(gen, scorer)
    assert result.best_text == BAD


async def test_gate_with_zero_retries_calls_once() -> None:
    gen = Script(BAD, CLEAN)
    result = await QualityGate(60, 0).run(gen, scorer)
    assert gen.calls == [0] and result.best_text == BAD and not result.passed


async def test_gate_does_not_touch_history() -> None:
    history = list(HISTORY)
    before = list(history)

    def score_with_history(text: str) -> Quality:
        return score(text, persona=BRAM, history=history, preset_max_tokens=120)

    await QualityGate(60, 2).run(Script(BAD, BAD, BAD), score_with_history)
    assert history == before  # the seed popped a line it never appended


async def test_gate_first_provider_error_propagates() -> None:
    with pytest.raises(ProviderTimeout):
        await QualityGate(60, 2).run(Script(ProviderTimeout("groq", "slow"), CLEAN), scorer)


async def test_gate_retry_provider_error_is_recorded_and_loop_goes_on() -> None:
    gen = Script(BAD, ProviderTimeout("groq", "slow"), CLEAN)
    result = await QualityGate(60, 2).run(gen, scorer)
    assert result.best_text == CLEAN and result.retries == 2
    assert result.errors == ("provider_timeout",)
    assert [t for t, _ in result.attempts] == [BAD, CLEAN]


async def test_gate_other_errors_propagate() -> None:
    with pytest.raises(KeyError):
        await QualityGate(60, 2).run(Script(BAD, KeyError("x")), scorer)


@pytest.mark.parametrize(("threshold", "retries"), [(-1, 1), (101, 1), (60, -1), (60, 11)])
def test_gate_rejects_bad_config(threshold: int, retries: int) -> None:
    with pytest.raises(ConfigError):
        QualityGate(threshold, retries)


def test_severe_rules_are_all_penalties() -> None:
    assert all(RULES[name] < 0 for name in SEVERE)
