"""Answer options and openers that read right, on the sample personas through the real engine:
villagers named by their display names, subjects said as a person would say them, no stale
or repeated options, no introduction once the name is known, and no thanks for a question."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.sentiment import analyze
from sidecar.engine.state import ConversationState, Option
from sidecar.engine.text import normalize
from sidecar.engine.types import TurnContext
from sidecar.personas.loader import load_personas
from sidecar.personas.model import Persona

REPO = Path(__file__).resolve().parents[2]
ENGINE = EmbeddedEngine()
VILLAGE: dict[str, Persona] = {p.id: p for p in load_personas(REPO / "personas")}
LINES = (
    "Hello!",
    "What do you think of the others in the village?",
    "Tell me about your work.",
    "Any news?",
    "What's the weather like?",
    "Who else should I meet?",
    "Tell me about your family.",
    "What do you do for fun?",
)


def ctx(
    pid: str, seed: int, *, turn: int = 1, state: ConversationState | None = None, player: str = "p_1"
) -> TurnContext:
    return TurnContext(
        persona=VILLAGE[pid],
        player=player,
        affinity=50,
        seed=seed,
        turn=turn,
        state=state or ConversationState(),
        neighbours=tuple(p for p in VILLAGE.values() if p.id != pid),
    )


def offered(pid: str, seeds: range = range(8)) -> Iterator[str]:
    """Every option the NPC offers after each of `LINES`, over several seeds."""
    for seed in seeds:
        for i, line in enumerate(LINES):
            c = ctx(pid, seed, turn=i + 1)
            npc = ENGINE.reply(c, line, analyze(line)).text
            yield from (o.text for o in ENGINE.options(c, npc, line))
        greeting = ENGINE.greet(ctx(pid, seed, turn=0)).text
        yield from (o.text for o in ENGINE.options(ctx(pid, seed, turn=0), greeting, None))


@pytest.mark.parametrize("pid", sorted(VILLAGE))
def test_options_name_villagers_by_their_display_names(pid: str) -> None:
    texts = list(offered(pid))
    others = [p for p in VILLAGE.values() if p.id != pid]
    named = [t for t in texts if any(o.name in t for o in others)]
    assert named, f"{pid}: no option names a villager"  # the check below could fail
    for text in texts:
        for other in others:
            # The id ("hesper"), lowercase, is never shown; a lowercase name neither.
            assert not re.search(rf"\b{other.id}\b", text), (pid, text)
            assert not re.search(rf"\b{re.escape(other.name.lower())}\b", text), (pid, text)


def test_the_captain_is_captain_vane_not_her_id() -> None:
    texts = list(offered("ansel", range(30)))
    assert any("Captain Vane" in t for t in texts)
    assert not any("hesper" in t.lower() for t in texts)


# Template wordings that did not read as a person would say them (found in play):
UNNATURAL = re.compile(
    r"heard a few stories about|about (?:work|job|family|danger|weather|village|rumours|food|drink)\b"
    r"|what do you like most about (?:the )?danger|behind smith|\bsmith\?",
    re.IGNORECASE,
)


@pytest.mark.parametrize("pid", sorted(VILLAGE))
def test_options_read_as_something_a_person_would_say(pid: str) -> None:
    texts = list(offered(pid))
    for text in texts:
        assert not UNNATURAL.search(text), (pid, text)
        assert text[0].isupper() and text[-1] in ".?!", (pid, text)
    # Subjects get the words a person uses for them.
    assert any(re.search(r"\b(?:your work|your family|the weather|the village)\b", t) for t in texts), pid


def test_no_option_offered_on_the_last_turns_nor_the_chosen_one() -> None:
    for pid in VILLAGE:
        for seed in range(6):
            c = ctx(pid, seed)
            first = ENGINE.options(c, "Hello there.", None)
            state = ConversationState().offer(first, introduces=False)
            history = [tuple(o.text for o in first)]
            for turn in range(2, 8):
                chosen = history[-1][turn % 2]
                c = ctx(pid, seed, turn=turn, state=state)
                npc = ENGINE.reply(c, chosen, analyze(chosen)).text
                now = ENGINE.options(c, npc, chosen)
                keys = {normalize(o.text) for o in now}
                assert normalize(chosen) not in keys, (pid, chosen)
                for earlier in history[-3:]:
                    assert not keys & {normalize(t) for t in earlier}, (pid, seed, turn, keys)
                history.append(tuple(o.text for o in now))
                state = replace(state, engine=ENGINE.reply(c, chosen, analyze(chosen)).memory).offer(
                    now, introduces=False
                )


def test_no_introduction_once_offered_or_once_the_name_is_known() -> None:
    for pid in VILLAGE:
        for seed in range(10):
            fresh = ENGINE.options(ctx(pid, seed, player="Wren"), "Hello.", None)
            assert fresh[1] == Option("I'm Wren, by the way. Nice to meet you.", "share")
            told = ConversationState().offer(fresh, introduces=True)
            again = ENGINE.options(ctx(pid, seed, turn=9, player="Wren", state=told), "Hello.", None)
            given = ENGINE.options(
                ctx(pid, seed, player="Wren", state=ConversationState(player_name="Wren")), "Hi.", None
            )
            assert not any("by the way" in o.text for o in [*again, *given]), (pid, again, given)


# What an NPC says back to a compliment (the reaction banks), as the player would spot them.
COMPLIMENT_OPENERS = re.compile(
    r"how gracious|kindly said|a generous remark|i appreciate that|that's kind of you|th-thank you"
    r"|you're… very nice|sweet of you|you're a delight|i like you already|lovely to hear"
    r"|ray of sunshine|flattery|you charmer|i'll blush|sweet talker|compliments\. how novel"
    r"|suspiciously so|might almost believe you|nice words|words are cheap",
    re.IGNORECASE,
)
POLITE_QUESTIONS = (
    "What is your honest opinion of Sorrel?",
    "Could you kindly tell me about your lovely village?",
    "What's the best thing about your wonderful job?",
    "Would you be so kind as to tell me the news?",
    "Tell me more about your work, please.",
)


@pytest.mark.parametrize("pid", sorted(VILLAGE))
def test_a_question_is_answered_not_thanked_for(pid: str) -> None:
    for line in POLITE_QUESTIONS:
        assert analyze(line).label == "positive" or "please" in line, line  # kind words in it
        for seed in range(6):
            text = ENGINE.reply(ctx(pid, seed), line, analyze(line)).text
            assert not COMPLIMENT_OPENERS.search(text), (pid, line, text)


def test_a_compliment_still_gets_its_thanks() -> None:
    thanked = [
        ENGINE.reply(ctx(pid, seed), "You're very kind, and I like you a lot.", analyze("You're very kind.")).text
        for pid in VILLAGE
        for seed in range(6)
    ]
    assert sum(bool(COMPLIMENT_OPENERS.search(t)) for t in thanked) >= len(thanked) // 3, thanked
