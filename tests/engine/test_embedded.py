"""The embedded engine: determinism, no-repeat, memory, tone, topics, goodbyes, options, voice.

Personas are built here (the sample files get their own smoke test at the end), so every
expectation below follows from data visible in this file.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.engine.compose.call import Call
from sidecar.engine.compose.sentence import Draft, clean
from sidecar.engine.embedded import NO_REPEAT_WINDOW, EmbeddedEngine
from sidecar.engine.personality import tune
from sidecar.engine.phrases import BUNDLED
from sidecar.engine.sentiment import analyze
from sidecar.engine.state import ConversationState, EngineMemory
from sidecar.engine.text import normalize
from sidecar.engine.types import PLAYER, Composed, Line, Sentiment, TurnContext
from sidecar.personas.model import Persona

REPO = Path(__file__).resolve().parents[2]
ENGINE = EmbeddedEngine()
NEUTRAL = Sentiment("neutral", 0.0)
FRIENDLY = Sentiment("positive", 0.7)
RUDE = Sentiment("negative", -0.7)

FORGE_LINES = (
    "My forge has burned for thirty years.",
    "The forge never sleeps, and neither do I.",
    "I learned smithing from my father.",
)
GREETINGS = ("Welcome to my forge, {player}.", "Ah, a customer. I'm {name}. Come in.")
FAREWELLS = ("Safe roads, {player}.", "Mind the sparks on your way out.")
FACTS = ("I have a daughter, Ilse, who wants to be a bard.", "My anvil came from the capital.")
MAYOR = "The mayor talks a lot and pays late."


def make_persona(preset: str | None = "outgoing", pid: str = "bram", **over: Any) -> Persona:
    data: dict[str, Any] = {
        "id": pid,
        "name": "Bram",
        "role": "the village blacksmith",
        "bio": "Bram has worked the forge for thirty years.",
        "personality": {"preset": preset} if preset else {},
        "greetings": list(GREETINGS),
        "farewells": list(FAREWELLS),
        "fallbacks": ["Can't say I follow.", "That's beyond my trade."],
        "topics": {
            "forge": {"keywords": ["forge", "smithing", "anvil"], "lines": list(FORGE_LINES)},
            "swords": {"keywords": ["sword", "blade"],
                       "lines": ["A good sword takes a week to make."]},
            "mill": {"keywords": ["old mill"],
                     "lines": ["The old mill has been quiet since the flood."]},
        },
        "opinions": {"mayor": MAYOR, "fishing": "Fishing? Too slow for me."},
        "facts": list(FACTS),
    }
    data.update(over)
    return Persona.model_validate(data)


def ctx_for(persona: Persona, *, turn: int = 1, seed: int = 1, affinity: int = 50,
            history: Sequence[Line] = (), memory: EngineMemory | dict[str, Any] | None = None,
            player: str = "Ana") -> TurnContext:
    """`memory` is the engine's memory, or a stored bag (read as the store's rows are)."""
    state = (ConversationState(engine=memory) if isinstance(memory, EngineMemory)
             else ConversationState.from_json(memory or {}))
    return TurnContext(persona=persona, player=player, affinity=affinity, seed=seed, turn=turn,
                       history=tuple(history), state=state)


class Conversation:
    """Drives the engine the way the turn pipeline does: history and memory carried over."""

    def __init__(self, persona: Persona, *, seed: int = 1, affinity: int = 50,
                 player: str = "Ana", keep_history: bool = True, keep_memory: bool = True) -> None:
        self.persona, self.seed, self.affinity, self.player = persona, seed, affinity, player
        self.keep_history, self.keep_memory = keep_history, keep_memory
        self.turn = 0
        self.history: list[Line] = []
        self.memory = EngineMemory()
        self.npc_lines: list[str] = []

    def _ctx(self) -> TurnContext:
        return ctx_for(self.persona, turn=self.turn, seed=self.seed, affinity=self.affinity,
                       history=self.history[-24:] if self.keep_history else (),
                       memory=self.memory if self.keep_memory else None, player=self.player)

    def _record(self, player_text: str | None, c: Composed) -> Composed:
        # The pipeline stores the state as JSON and reads it back next turn.
        stored = json.loads(json.dumps(ConversationState(engine=c.memory).to_json()))
        self.memory = ConversationState.from_json(stored).engine
        if player_text is not None:
            self.history.append(Line(PLAYER, player_text))
        self.history.append(Line(self.persona.id, c.text))
        self.npc_lines.append(c.text)
        return c

    def greet(self) -> Composed:
        return self._record(None, ENGINE.greet(self._ctx()))

    def say(self, text: str, sentiment: Sentiment | None = None) -> Composed:
        self.turn += 1
        c = ENGINE.reply(self._ctx(), text, sentiment or analyze(text))
        return self._record(text, c)

    def options(self, npc_line: str, last: str | None) -> list[Any]:
        return ENGINE.options(self._ctx(), npc_line, last)


def transcript(persona: Persona, lines: Sequence[str], seed: int) -> list[str]:
    conv = Conversation(persona, seed=seed)
    out = [conv.greet().text]
    for line in lines:
        c = conv.say(line)
        out.append(c.text)
        out.extend(o.text for o in conv.options(c.text, line))
    return out


def assert_clean(text: str) -> None:
    assert text, "empty line"
    assert text == text.strip() and "  " not in text, repr(text)
    assert re.search(r"(?:[.!?…][\"'”’)\]»]*|\*)$", text), f"no final punctuation: {text!r}"
    first = next((ch for ch in text if ch.isalpha()), None)
    if first is not None and text[0] != "*":
        assert not first.islower(), f"not capitalised: {text!r}"
    assert not re.search(r"\{\w*\}", text), f"placeholder left: {text!r}"


SCRIPT = (
    "Hello there!", "Tell me about your forge.", "What do you think of the mayor?", "hmm",
    "I'm Ana and I like fishing.", "ok", "What's my name?", "Do you make swords?", "I see.",
    "Tell me about yourself.", "What about the old mill?", "You are an idiot.",
    "Sorry, that was rude.", "Thanks, you're kind.", "Go on.",
)


# -- determinism --------------------------------------------------------------------------------


def test_same_seed_same_transcript_and_different_seed_differs() -> None:
    p = make_persona()
    assert transcript(p, SCRIPT, seed=5) == transcript(p, SCRIPT, seed=5)
    assert transcript(p, SCRIPT, seed=5) != transcript(p, SCRIPT, seed=6)


def test_global_random_state_is_neither_used_nor_disturbed() -> None:
    p = make_persona()
    random.seed(1234)
    expected_next = random.random()
    random.seed(1234)
    first = transcript(p, SCRIPT[:5], seed=9)
    assert random.random() == expected_next
    random.seed(99)
    assert transcript(p, SCRIPT[:5], seed=9) == first


_HASHSEED_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.state import ConversationState
from sidecar.engine.types import Line, Sentiment, TurnContext
from sidecar.personas.model import Persona
p = Persona.model_validate(json.loads(sys.argv[2]))
eng, mem, hist, out = EmbeddedEngine(), ConversationState(), [], []
for turn, text in enumerate(["", "hello", "tell me about the forge", "I'm Ana", "hmm", "bye"]):
    ctx = TurnContext(persona=p, player="Ana", affinity=50, seed=3, turn=turn,
                      history=tuple(hist), state=mem)
    c = eng.greet(ctx) if turn == 0 else eng.reply(ctx, text, Sentiment("neutral", 0.0))
    mem = ConversationState(engine=c.memory)
    hist.append(Line(p.id, c.text))
    out.append(c.text)
    out += [o.text for o in eng.options(ctx, c.text, text or None)]
print(json.dumps(out))
"""


def test_output_does_not_depend_on_pythonhashseed() -> None:
    persona_json = make_persona().model_dump_json()
    outs = []
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        proc = subprocess.run(
            [sys.executable, "-c", _HASHSEED_SCRIPT, str(REPO), persona_json],
            capture_output=True, text=True, env=env, check=True, timeout=60,
        )
        outs.append(json.loads(proc.stdout))
    assert outs[0] == outs[1]
    assert len(outs[0]) == 6 + 6 * 3


# -- no-repeat ----------------------------------------------------------------------------------


def _assert_no_repeat(lines: Sequence[str]) -> None:
    keys = [normalize(t) for t in lines]
    for i, key in enumerate(keys):
        window = keys[max(0, i - NO_REPEAT_WINDOW):i]
        assert key not in window, f"turn {i} repeats a recent line: {lines[i]!r}"


@pytest.mark.parametrize("mode", ["both", "history_only", "memory_only"])
def test_never_repeats_within_the_window_even_with_one_fallback(mode: str) -> None:
    # One fallback line, no topics, no facts: the engine must still vary its wording.
    p = make_persona("intellectual", topics={}, opinions={}, facts=[],
                     fallbacks=["I see."], greetings=["Hello."], farewells=["Bye."])
    conv = Conversation(p, keep_history=mode != "memory_only", keep_memory=mode != "history_only")
    conv.greet()
    for _ in range(40):
        conv.say("hmm", NEUTRAL)
    _assert_no_repeat(conv.npc_lines)


def test_rotates_topic_lines_before_reusing_one() -> None:
    conv = Conversation(make_persona("intellectual"), seed=2)
    seen = [conv.say("Tell me about the forge.", NEUTRAL).text for _ in range(3)]
    assert all(any(line in s for s in seen) for line in FORGE_LINES)


def test_an_exhausted_topic_is_not_repeated_but_acknowledged() -> None:
    conv = Conversation(make_persona("intellectual"), seed=3)
    only = "The old mill has been quiet since the flood."
    first = conv.say("What about the old mill?", NEUTRAL)
    second = conv.say("And the old mill?", NEUTRAL)
    assert only in first.text and only not in second.text
    assert second.topic == "mill" and "old mill" in second.text  # "nothing to add on it"


def test_replies_fit_the_presets_length_budget() -> None:
    long_line = "The forge is hot, and the work is long, and the iron is stubborn. " * 2
    for preset in ("shy", "outgoing", "intellectual", "flirty", "sarcastic"):
        p = make_persona(preset, topics={"forge": {"keywords": ["forge"], "lines": [long_line]}})
        for affinity in (5, 50, 95):
            budget = tune(p, affinity).max_tokens * 4
            for seed in range(8):
                c = ENGINE.reply(ctx_for(p, seed=seed, affinity=affinity),
                                 "You are great! Tell me about the forge, I'm Ana.", FRIENDLY)
                assert len(c.text) <= budget, (preset, affinity, c.text)


# -- memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["I'm Ana.", "my name is ana", "Call me Ana!", "Hello, I am Ana, a traveller.",
     "They call me ana.", "Name's Ana."],
)
def test_learns_the_players_name(line: str) -> None:
    conv = Conversation(make_persona(), player="p_1234")
    c = conv.say(line)
    assert c.memory.player_name == "Ana"
    assert "Ana" in c.text  # acknowledged
    later = conv.say("What's my name?")
    assert "Ana" in later.text


@pytest.mark.parametrize("line", ["I'm tired.", "I am Fine, thanks", "I'm from the coast.",
                                  "I'm not sure.", "call me later", "I'm Sorry"])
def test_does_not_mistake_other_words_for_a_name(line: str) -> None:
    c = Conversation(make_persona(), player="p_1").say(line)
    assert c.memory.player_name is None


def test_unknown_name_is_admitted() -> None:
    c = Conversation(make_persona("shy"), player="p_1").say("Do you remember my name?")
    assert "name" in c.text.lower()
    assert c.memory.player_name is None


def test_remembers_likes_and_brings_them_up_later_by_name() -> None:
    conv = Conversation(make_persona("outgoing"), player="p_1")
    first = conv.say("I'm Ana, and I love cheese rolling.")
    assert [x.what for x in first.memory.likes] == ["cheese rolling"]
    later = [conv.say(line, NEUTRAL).text for line in ("hmm", "ok", "I see.")]
    recall = [t for t in later if "cheese rolling" in t]
    assert recall, later
    assert "Ana" in recall[0] and "You said you love cheese rolling" in recall[0]
    answer = conv.say("What do I like?").text
    assert "cheese rolling" in answer


def test_dislikes_are_remembered_and_recalled_when_asked() -> None:
    conv = Conversation(make_persona("sarcastic"))
    c = conv.say("I hate mornings.")
    assert [x.what for x in c.memory.dislikes] == ["mornings"]
    assert "mornings" in conv.say("Do you remember what I like?").text


def test_likes_statements_swap_to_second_person() -> None:
    conv = Conversation(make_persona())
    c = conv.say("I really enjoy walking my dog, but not in the rain.")
    assert [x.what for x in c.memory.likes] == ["walking your dog"]


def test_liking_the_npc_is_not_stored_as_a_hobby() -> None:
    c = Conversation(make_persona("flirty")).say("I like you.")
    assert c.memory.likes == ()


def test_memory_survives_garbage() -> None:
    p = make_persona()
    junk = {"player_name": 7, "likes": "x", "said": [1, None], "topics": [], "arc": ["pos"],
            "cores": None, "quirk_turn": "z"}
    c = ENGINE.reply(ctx_for(p, memory=junk), "Tell me about the forge", NEUTRAL)
    assert c.memory.player_name is None
    assert "forge" in c.memory.topics
    json.dumps(ConversationState(engine=c.memory).to_json())


# -- content -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "topic"),
    [("Tell me about your forges", "forge"), ("Is that an ANVIL?", "forge"),
     ("the forge's fire", "forge"), ("Do you make blades?", "swords"),
     ("What about the old mill?", "mill"), ("Old mills are spooky.", "mill")],
)
def test_answers_topic_keywords_whole_word_and_plural(line: str, topic: str) -> None:
    c = ENGINE.reply(ctx_for(make_persona("intellectual")), line, NEUTRAL)
    assert c.topic == topic
    lines = make_persona().topics[topic].lines
    assert any(t in c.text for t in lines)


@pytest.mark.parametrize("line", ["Forgery is a crime.", "A windmill, how quaint.", "swordfish!"])
def test_partial_words_do_not_trigger_topics(line: str) -> None:
    c = ENGINE.reply(ctx_for(make_persona("intellectual")), line, NEUTRAL)
    assert c.topic is None


def test_shares_opinions_when_a_subject_is_named() -> None:
    c = ENGINE.reply(ctx_for(make_persona("shy")), "What do you think of the mayor?", NEUTRAL)
    assert MAYOR.rstrip(".") in c.text


def test_shares_facts_when_asked_about_itself() -> None:
    conv = Conversation(make_persona("intellectual"))
    texts = [conv.say("Tell me about yourself.", NEUTRAL).text for _ in range(2)]
    for fact in FACTS:
        assert any(fact.rstrip(".") in t for t in texts)


@pytest.mark.parametrize(
    ("line", "fact"),
    [
        ("Is your anvil really from the capital?", FACTS[1]),  # "anvil" alone names the forge topic
        ("Does your daughter want to be a bard?", FACTS[0]),
        ("Who is Ilse?", FACTS[0]),
    ],
)
def test_a_question_about_a_fact_is_answered_with_it(line: str, fact: str) -> None:
    """"Where are you from?" got a fact about iron roses and "What's the chapel bell?" a
    rumour: a fact is chosen by the words the question shares with it."""
    for seed in range(4):
        assert fact.rstrip(".") in Conversation(make_persona("intellectual"), seed=seed).say(line, NEUTRAL).text


def test_a_topic_word_without_a_fact_to_match_still_gets_the_topic() -> None:
    text = Conversation(make_persona("intellectual")).say("How old is your forge?", NEUTRAL).text
    assert any(line.rstrip(".") in text for line in FORGE_LINES), text


def test_a_statement_sharing_a_facts_words_is_not_answered_with_the_fact() -> None:
    text = Conversation(make_persona("intellectual")).say("My daughter wants to be a bard.", NEUTRAL).text
    assert FACTS[0].rstrip(".") not in text, text


SAMPLE_PERSONAS = Path(__file__).resolve().parents[2] / "personas"


@pytest.mark.parametrize("persona", ["goldie", "ansel", "sorrel", "rook", "hesper"])
@pytest.mark.parametrize("line", ["Where are you from?", "Where did you grow up?", "So where were you born?"])
def test_each_sample_npc_says_where_it_is_from(persona: str, line: str) -> None:
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    npc = load_personas(SAMPLE_PERSONAS).personas[persona]
    for seed in range(3):
        text = Conversation(npc, seed=seed).say(line).text
        assert any(home.rstrip(".!") in text for home in npc.topics["home"].lines), (seed, text)


@pytest.mark.parametrize(
    ("persona", "line", "where"),
    [
        ("ansel", "Why don't you talk much?", "quiet"),
        ("ansel", "Are you always this quiet?", "quiet"),
        ("goldie", "Have you ever heard the chapel bell?", "chapel bell"),
        ("goldie", "Who keeps the accounts at the Heron?", "accounts"),
    ],
)
def test_sample_npcs_answer_questions_about_themselves_by_meaning(persona: str, line: str, where: str) -> None:
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    npc = load_personas(SAMPLE_PERSONAS).personas[persona]
    lines = npc.topics[where].lines if where in npc.topics else [f for f in npc.facts if where in f.lower()]
    assert lines
    for seed in range(3):
        text = Conversation(npc, seed=seed).say(line).text
        assert any(x.rstrip(".!") in text for x in lines), (seed, text)


def test_says_its_name_when_asked() -> None:
    c = ENGINE.reply(ctx_for(make_persona("sarcastic")), "Who are you?", NEUTRAL)
    assert "Bram" in c.text and "blacksmith" in c.text


def test_placeholders_are_filled() -> None:
    p = make_persona(greetings=["Hello {player}, I'm {name}."])
    c = ENGINE.greet(ctx_for(p, turn=0))
    assert "Hello Ana, I'm Bram" in c.text
    anonymous = ENGINE.greet(ctx_for(p, turn=0, player="player_17"))
    assert "Hello traveller, I'm Bram" in anonymous.text


def test_tone_reactions_differ() -> None:
    p = make_persona("outgoing")
    line = "You, tell me about the forge."
    texts = {s.label: ENGINE.reply(ctx_for(p, seed=4), line, s) for s in (FRIENDLY, RUDE, NEUTRAL)}
    assert len({c.text for c in texts.values()}) == 3
    assert "tone:friendly" in texts["positive"].notes
    assert "tone:rude" in texts["negative"].notes
    for c in texts.values():
        assert c.topic == "forge"


def test_real_sentiment_drives_different_reactions() -> None:
    p = make_persona("intellectual")
    kind = ENGINE.reply(ctx_for(p), "You are wonderful, thank you!", analyze("You are wonderful!"))
    rude = ENGINE.reply(ctx_for(p), "You are a stupid idiot.", analyze("You are a stupid idiot."))
    assert kind.text != rude.text
    assert "tone:friendly" in kind.notes and "tone:rude" in rude.notes


def test_a_shared_dislike_is_not_taken_as_an_insult() -> None:
    p = make_persona("outgoing")
    hits = 0
    for seed in range(10):
        c = ENGINE.reply(ctx_for(p, seed=seed), "I hate rainy days.", analyze("I hate rainy days."))
        hits += any(r in c.text for r in ("easy there", "nasty", "grumpy", "rude"))
    assert hits == 0


# -- goodbyes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["Bye!", "Goodbye, Bram.", "I have to go now.", "See you later!", "Farewell.",
     "I must be off. Until next time.", "gotta go", "Take care!", "Good night, Bram."],
)
def test_goodbyes_end_the_conversation_with_a_farewell(line: str) -> None:
    c = ENGINE.reply(ctx_for(make_persona()), line, analyze(line))
    assert c.ending
    assert any(f.replace("{player}", "Ana").rstrip(".") in c.text for f in FAREWELLS)


@pytest.mark.parametrize(
    "line",
    ["Nice to see you!", "I have to go to the market for bread.", "Take care of the horse.",
     "Don't leave!", "Tell me about the forge."],
)
def test_non_goodbyes_do_not_end(line: str) -> None:
    assert not ENGINE.reply(ctx_for(make_persona()), line, analyze(line)).ending


def test_farewell_ends() -> None:
    c = ENGINE.farewell(ctx_for(make_persona(), turn=3))
    assert c.ending
    assert any(f.replace("{player}", "Ana").rstrip(".") in c.text for f in FAREWELLS)


# -- options -----------------------------------------------------------------------------------


def _check_options(opts: Sequence[Any], last: str | None) -> None:
    assert [o.intent for o in opts] == ["ask", "share", "leave"]
    keys = [normalize(o.text) for o in opts]
    assert len(set(keys)) == 3
    if last is not None:
        assert normalize(last) not in keys
    for o in opts:
        assert 5 <= len(o.text.split()) <= 10, o.text
        assert_clean(o.text)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), turn=st.integers(0, 50),
       preset=st.sampled_from(["shy", "outgoing", "intellectual", "flirty", "sarcastic"]),
       affinity=st.integers(0, 100))
def test_options_rules_hold_for_any_seed(seed: int, turn: int, preset: str, affinity: int) -> None:
    p = make_persona(preset)
    ctx = ctx_for(p, seed=seed, turn=turn, affinity=affinity)
    first = ENGINE.options(ctx, "My forge has burned for thirty years.", None)
    _check_options(first, None)
    # Whatever the player just said (even one of these very options) is never offered again.
    for option in first:
        again = ENGINE.options(ctx, "My forge has burned for thirty years.", option.text)
        _check_options(again, option.text)


def test_options_build_on_the_line_and_persona() -> None:
    p = make_persona("outgoing")
    texts: set[str] = set()
    for seed in range(12):
        opts = ENGINE.options(ctx_for(p, seed=seed), "My forge has burned for thirty years.", None)
        texts.update(o.text for o in opts)
    assert any("your forge" in t for t in texts)


def test_every_leave_option_is_understood_as_goodbye() -> None:
    p = make_persona()
    for seed in range(25):
        ctx = ctx_for(p, seed=seed, turn=seed % 7)
        leave = ENGINE.options(ctx, "Hello.", None)[2]
        assert ENGINE.reply(ctx, leave.text, analyze(leave.text)).ending, leave.text


def test_options_offer_the_players_name_until_it_is_known() -> None:
    p = make_persona()
    opts = ENGINE.options(ctx_for(p, player="Ana"), "Hello.", None)
    assert "I'm Ana, by the way" in opts[1].text
    known = ENGINE.options(ctx_for(p, player="Ana", memory={"player_name": "Ana"}), "Hello.", None)
    assert "by the way" not in known[1].text
    # Told in the very line being answered (the pipeline passes the pre-reply context).
    just_told = ENGINE.options(ctx_for(p, player="Ana"), "Nice to meet you.", "I'm Ana.")
    assert "by the way" not in just_told[1].text


def test_options_name_people_as_the_persona_does() -> None:
    p = make_persona(opinions={"ilse": "Ilse sings too loud."}, facts=["I miss Ilse."])
    asks = {ENGINE.options(ctx_for(p, seed=s), "Hm.", None)[0].text for s in range(30)}
    assert any("Ilse" in a for a in asks)
    assert not any("ilse" in a for a in asks)


# -- voice and affinity ------------------------------------------------------------------------


def _replies(preset: str, line: str, seeds: range, affinity: int = 50) -> list[str]:
    p = make_persona(preset, speech={})
    return [ENGINE.reply(ctx_for(p, seed=s, affinity=affinity), line, analyze(line)).text
            for s in seeds]


def _words(texts: Sequence[str]) -> int:
    return sum(len(t.split()) for t in texts)


def test_shy_and_sarcastic_answer_the_same_line_visibly_differently() -> None:
    line = "Tell me about the forge."
    shy = _replies("shy", line, range(12))
    sarcastic = _replies("sarcastic", line, range(12))
    assert all(a != b for a, b in zip(shy, sarcastic, strict=True))
    assert all("…" in t or "—" in t for t in shy)  # hesitant
    assert not any("…" in t for t in sarcastic)
    assert _words(shy) < _words(sarcastic)


def test_outgoing_exclaims_and_asks_back_more_than_shy() -> None:
    line = "Tell me about the forge."
    outgoing = _replies("outgoing", line, range(20))
    shy = _replies("shy", line, range(20))
    assert sum(t.count("!") for t in outgoing) > sum(t.count("!") for t in shy)
    assert sum(t.count("?") for t in outgoing) > sum(t.count("?") for t in shy)


def test_low_affinity_is_brief_and_high_affinity_expressive() -> None:
    line = "You are kind. Tell me about the forge."
    cold = _replies("outgoing", line, range(20), affinity=5)
    warm = _replies("outgoing", line, range(20), affinity=95)
    assert _words(cold) < _words(warm)


def test_greeting_follows_affinity() -> None:
    p = make_persona("outgoing")
    cold = [ENGINE.greet(ctx_for(p, turn=0, seed=s, affinity=5)).text for s in range(10)]
    warm = [ENGINE.greet(ctx_for(p, turn=0, seed=s, affinity=95)).text for s in range(10)]
    assert cold != warm
    for text in cold + warm:
        assert any(g.replace("{player}", "Ana").replace("{name}", "Bram")[:10] in text
                   for g in GREETINGS)


def test_quirks_are_sprinkled_sparingly() -> None:
    p = make_persona("outgoing", speech={"quirks": ["by the anvil"], "catchphrases": []})
    conv = Conversation(p, seed=11)
    texts = [conv.say(line, NEUTRAL).text for line in SCRIPT]
    with_quirk = [i for i, t in enumerate(texts) if "by the anvil" in t]
    assert 0 < len(with_quirk) < len(texts) / 2
    assert all(b - a >= 2 for a, b in zip(with_quirk, with_quirk[1:], strict=False))


def test_a_catchphrase_comes_before_a_question_back_not_after() -> None:
    """"What about you? You heard it from the walls." read as glued on: the question the NPC
    asks is what the player answers, so it is said last."""
    phrase = "Strike while it's hot."
    p = make_persona("outgoing", speech={"quirks": [], "catchphrases": [phrase]})
    both = 0
    for seed in range(80):
        text = ENGINE.reply(ctx_for(p, seed=seed, turn=4), "Tell me about the forge.", NEUTRAL).text
        if phrase in text and "?" in text:
            both += 1
            assert text.endswith("?"), text
            assert text.index(phrase) < text.rindex("?"), text
    assert both, "no reply had both the catchphrase and a question back: the test proves nothing"


def test_a_catchphrase_with_topics_ends_only_a_reply_about_one_of_them() -> None:
    phrase = "Strike while it's hot."
    only = {"text": phrase, "topics": ["forge", "mayor"]}
    p = make_persona("outgoing", speech={"quirks": [], "catchphrases": [only]})
    said: dict[str, int] = {}
    for line in ["Tell me about the forge.", "What do you think of the mayor?", "Tell me about swords.",
                 "Thanks, that's kind.", "glorp fnarg wibble", "Hello!"]:
        for seed in range(60):
            text = ENGINE.reply(ctx_for(p, seed=seed, turn=4), line, analyze(line)).text
            said[line] = said.get(line, 0) + (phrase in text)
    assert said["Tell me about the forge."] and said["What do you think of the mayor?"], said
    assert [n for line, n in said.items() if n and "forge" not in line and "mayor" not in line] == [], said


# -- robustness --------------------------------------------------------------------------------

_ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(categories=["P", "S", "Zs"]), max_size=50),
    st.sampled_from(["", " ", "\n\t", "?", "!!!", "...", "{player}", "{name} {x}",
                     "I'm {player}", "call me {name}", "I like {player}s", "x" * 5000,
                     "I love " + "fishing " * 400, "🙂" * 300, "\x00\x01", "bye" * 1000]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_ANY_TEXT, seed=st.integers(0, 1000),
       preset=st.sampled_from(["shy", "outgoing", "intellectual", "flirty", "sarcastic"]),
       affinity=st.integers(0, 100))
def test_any_player_text_yields_a_clean_line(text: str, seed: int, preset: str,
                                             affinity: int) -> None:
    p = make_persona(preset, speech={"quirks": ["Hm.", "by the anvil", "(as it happens)",
                                                "*wipes hands*", "…if you like."]})
    ctx = ctx_for(p, seed=seed, affinity=affinity, turn=3)
    c = ENGINE.reply(ctx, text, analyze(text))
    assert_clean(c.text)
    json.dumps(ConversationState(engine=c.memory).to_json())
    _check_options(ENGINE.options(ctx, c.text, text), text)


# -- the sample personas -----------------------------------------------------------------------

PERSONA_DIR = REPO / "personas"
SAMPLE_SCRIPT = (
    "Hello!", "I'm Ana. I love fishing and long walks.", "What do you do here?",
    "Tell me about the village.", "Any rumours lately?", "You're wonderful, thank you!",
    "I hate rainy days.", "What's the weather like?", "hmm", "ok", "What's my name?",
    "What do I like?", "Do you have family?", "What do you think of the captain?",
    "You're useless.", "Sorry, that was rude.", "How are you?", "Tell me about yourself.",
    "What's your name?", "Is there food here?", "Tell me a secret.", "Who are you really?",
    "I like music.", "Nice weather today.", "Interesting.", "Go on.", "Really?", "I see.",
    "Thanks for talking with me.", "Goodbye!",
)


def _sample_personas() -> Iterator[Persona]:
    from sidecar.personas.loader import load_personas

    loaded = load_personas(PERSONA_DIR)
    assert not loaded.errors, loaded.errors
    yield from loaded


def _sample_ids() -> list[str]:
    return sorted(p.stem for p in PERSONA_DIR.glob("*.toml"))


def test_sample_personas_hold_a_thirty_turn_conversation() -> None:
    personas = list(_sample_personas())
    assert len(personas) == len(_sample_ids()) >= 4
    for p in personas:
        runs: dict[int, list[str]] = {}
        for seed in (1, 1, 2):
            conv = Conversation(p, seed=seed)
            conv.greet()
            endings = [conv.say(line).ending for line in SAMPLE_SCRIPT]
            assert endings[-1] and not any(endings[:-1]), (p.id, endings)
            _assert_no_repeat(conv.npc_lines)
            for text in conv.npc_lines:
                assert_clean(text)
                low = text.lower()
                assert "as an ai" not in low and "language model" not in low, text
            if seed in runs:
                assert runs[seed] == conv.npc_lines, f"{p.id}: same seed, different transcript"
            runs[seed] = conv.npc_lines
        assert runs[1] != runs[2], f"{p.id}: different seeds gave the same transcript"
        assert "Ana" in " ".join(runs[1][11:13]), f"{p.id} forgot the name"
        assert "fishing" in runs[1][12], f"{p.id} forgot the likes: {runs[1][12]!r}"


# -- observe: a line the engine did not compose --------------------------------------------------


def test_observe_remembers_the_players_facts_and_the_line_said_without_composing() -> None:
    p = make_persona()
    ctx = ctx_for(p, turn=2)
    line = "The forge? Thirty years of it, and my back knows every one."
    seen = ENGINE.observe(ctx, "I'm Ana and I love fishing. Tell me about the forge.", line)
    assert seen.text == line and not seen.ending
    assert seen.memory.player_name == "Ana"
    assert [x.what for x in seen.memory.likes] == ["fishing"]
    assert seen.topic == "forge" and seen.memory.topics["forge"] == 1
    assert seen.memory.said[-1] == normalize(line)
    assert ENGINE.observe(ctx, "I'm Ana and I love fishing. Tell me about the forge.", line) == seen


def test_observe_ends_on_goodbye_and_the_next_reply_knows_what_was_observed() -> None:
    p = make_persona()
    bye = ENGINE.observe(ctx_for(p), "Goodbye!", "Safe travels.")
    assert bye.ending and bye.topic is None
    seen = ENGINE.observe(ctx_for(p, turn=1), "Call me Wren.", "Well met, Wren.")
    c = ENGINE.reply(ctx_for(p, turn=2, memory=seen.memory), "What's my name?", NEUTRAL)
    assert "Wren" in c.text


NEWS = "Thank you for the coin."


@pytest.mark.parametrize("preset", ["shy", "sarcastic", "outgoing", "intellectual", "flirty"])
def test_news_of_an_action_opens_the_line_with_no_opener_or_lead_stacked_on_it(preset: str) -> None:
    """The news takes the voice opener's place: the rest of the line is the line the engine
    would have said anyway, less its opener or lead-in quirk ("Thank you for the coin. Hm…
    um… Oh…" stacks them)."""
    persona = make_persona(preset, speech={"quirks": ["Hm.", "*wipes hands*"]})
    openers = {normalize(p) for table in ("hesitations", "dry_openers", "bright_openers", "measured_openers")
               for p in BUNDLED(table)} | {"hm", "wipes hands"}
    quirks = {"hm", "wipes hands"}

    def bare(text: str) -> str:
        """The line without openers or quirks at either end (a lead-in quirk may move last)."""
        words = normalize(text)
        while True:
            cut = next((o for o in sorted(openers, key=len, reverse=True) if words.startswith(o + " ")), None)
            end = next((q for q in quirks if words.endswith(" " + q)), None)
            if cut is None and end is None:
                return words
            words = words[len(cut) + 1 :] if cut else words[: -len(end) - 1] if end else words

    differ = 0
    for seed in range(25):
        for line in ("Tell me about the forge.", "Thanks!", "Hmm.", "What do you think of the mayor?"):
            ctx = ctx_for(persona, seed=seed, turn=3)
            text = ENGINE.reply(ctx, line, analyze(line), news=NEWS).text
            assert text.startswith(NEWS + " "), text
            rest, plain = text[len(NEWS) + 1 :], ENGINE.reply(ctx, line, analyze(line)).text
            assert bare(rest) == bare(plain), (text, plain)
            differ += normalize(rest) != normalize(plain)
    assert differ  # some plain lines had an opener or a lead-in, and it gave way to the news


def test_the_news_leaves_the_voice_no_opener_or_lead_in() -> None:
    for preset in ("shy", "sarcastic", "outgoing", "intellectual", "flirty"):
        persona = make_persona(preset, speech={"quirks": ["Hm.", "*wipes hands*"]})
        for seed in range(40):
            call = Call(ctx_for(persona, seed=seed, turn=5), "reply")
            rng = random.Random(seed)
            d = Draft(news=NEWS, core="The forge is hot today.")
            call.shape(rng, d)
            call.sprinkle(rng, d, call.mem.copy())
            assert (d.opener, d.lead) == ("", ""), (preset, seed, d)
            assert d.text().startswith(NEWS + " The forge is hot today")


def test_news_comes_before_a_goodbye_too() -> None:
    text = ENGINE.reply(ctx_for(make_persona("shy"), seed=2), "Bye!", analyze("Bye!"), news=NEWS)
    assert text.ending and text.text.startswith(NEWS + " ")


@pytest.mark.parametrize("preset", ["outgoing", "shy", "intellectual", "flirty", "sarcastic"])
def test_a_promise_acknowledged_gets_no_question_back_about_it(preset: str) -> None:
    # Found in play: "I promise I'll bring you some apples." -> "Promise? I won't forget!
    # Have you tried it yourself?" -- a question about an "it" nobody mentioned.
    questions = BUNDLED("questions", preset)
    assert questions
    for seed in range(1, 25):
        conv = Conversation(make_persona(preset), seed=seed)
        conv.greet()
        text = conv.say("I promise I'll bring you a fresh trout tomorrow.").text
        # A question's words before its address ("What about you, {addr}?" -> "What about you").
        assert not any(q.split(",")[0].split("{")[0] in text for q in questions), (seed, text)


@pytest.mark.parametrize("preset", ["outgoing", "shy", "intellectual", "flirty", "sarcastic"])
def test_a_bare_hello_gets_a_greeting_question_not_one_about_it(preset: str) -> None:
    # Found in play: "Hi Goldie!" -> "Hello, hello! What do you think?" -- about nothing.
    questions = [q.split(",")[0].split("{")[0] for q in BUNDLED("questions", preset)]
    greeting = [q.split(",")[0].split("{")[0] for q in BUNDLED("greet_questions", preset)]
    asked = 0
    for seed in range(1, 25):
        conv = Conversation(make_persona(preset), seed=seed)
        conv.greet()
        text = conv.say("Hi Bram!").text
        assert not any(q in text for q in questions if q not in greeting), (seed, text)
        asked += any(q in text for q in greeting)
    assert asked, "some hello is answered with a question back about the visit"


# -- jokes ----------------------------------------------------------------------------------

JOKES = (
    "Why did the anvil go to school? To get a little sharper.",
    "What's a smith's favourite day? Forge-day. Every day is forge-day.",
    "A riddle: I am beaten every day and never weep. What am I? The anvil.",
)
PRESETS = ("shy", "outgoing", "intellectual", "flirty", "sarcastic")


@pytest.mark.parametrize("preset", PRESETS)
def test_a_joke_is_told_as_written_and_stands_alone(preset: str) -> None:
    """A dry "Marvellous." or a measured "A fair point." before a joke answers a line that was
    no statement, and a question back after the punchline steps on it."""
    p = make_persona(preset, jokes=list(JOKES), speech={"quirks": [], "catchphrases": []})
    for seed in range(30):
        c = ENGINE.reply(ctx_for(p, seed=seed, turn=3), "Tell me a joke.", analyze("Tell me a joke."))
        told = [j for j in JOKES if j in c.text]
        assert told and c.text.endswith(told[0]), c.text
        assert "core:joke" in c.notes and c.emotion == "joy", (c.text, c.notes)
        if preset != "shy":  # a shy NPC may still hesitate first ("Um…")
            assert c.text == told[0], c.text


def test_each_joke_is_told_once_then_the_npc_says_it_has_run_out() -> None:
    p = make_persona("sarcastic", jokes=list(JOKES))
    conv = Conversation(p, seed=4)
    asks = ["Tell me a joke.", "Another one!", "Know any riddles?"]
    said = [conv.say(line).text for line in asks]
    told = [next((j for j in JOKES if j in text), text) for text in said]
    assert sorted(told) == sorted(JOKES), told
    out = conv.say("Tell me a joke.")
    assert "core:joke:none" in out.notes and not any(j in out.text for j in JOKES), out.text
    assert any(line in out.text for line in BUNDLED("jokes_told", "sarcastic")), out.text
    assert out.emotion is None  # no joke, no forced smile


@pytest.mark.parametrize("preset", PRESETS)
def test_an_npc_without_jokes_says_so_in_its_voice(preset: str) -> None:
    p = make_persona(preset)
    c = ENGINE.reply(ctx_for(p, turn=2), "Make me laugh.", analyze("Make me laugh."))
    assert "core:joke:none" in c.notes, c.notes
    starts = [line.split("{addr}")[0][:15] for line in BUNDLED("no_jokes", preset)]
    assert any(start in c.text for start in starts), c.text


def test_another_one_asks_for_a_joke_only_after_a_joke() -> None:
    p = make_persona("outgoing", jokes=list(JOKES))
    fresh = ENGINE.reply(ctx_for(p, turn=2), "Another one!", analyze("Another one!"))
    assert "core:joke" not in fresh.notes and not any(j in fresh.text for j in JOKES), fresh.text
    conv = Conversation(p, seed=2)
    conv.say("Tell me about the forge.")
    assert "core:joke" not in conv.say("Go on.").notes
    first = conv.say("Tell me a joke.")
    again = conv.say("Ha! Another one!")
    assert "core:joke" in again.notes, again.text
    assert [j for j in JOKES if j in again.text] != [j for j in JOKES if j in first.text]


def test_asking_for_a_joke_is_no_compliment_and_no_request() -> None:
    """"Make me laugh, please" is neither thanked as praise nor taken as an errand."""
    p = make_persona("outgoing", jokes=list(JOKES))
    for seed in range(20):
        line = "Please, friend, tell us a funny story!"
        c = ENGINE.reply(ctx_for(p, seed=seed, turn=2), line, analyze(line))
        assert "core:joke" in c.notes and not any(n.startswith("core:request") for n in c.notes), c.notes
        assert any(c.text == j or c.text.endswith(j) for j in JOKES), c.text


@pytest.mark.parametrize(("line", "landed"), [("Haha, good one!", "laughed"), ("That wasn't funny.", "flopped")])
@pytest.mark.parametrize("preset", PRESETS)
def test_the_npc_hears_how_its_joke_went_down(preset: str, line: str, landed: str) -> None:
    """"Haha, good one!" after Rook's riddle got "Hm, no rhyme or reason to that one": a laugh
    or a groan is about the joke just told, and answered as such (only right after one)."""
    p = make_persona(preset, jokes=list(JOKES))
    conv = Conversation(p, seed=3)
    conv.say("Tell me a joke.")
    c = conv.say(line)
    assert f"core:joke:{landed}" in c.notes, (c.text, c.notes)
    starts = [x.split("{addr}")[0][:12] for x in BUNDLED(f"joke_{landed}", preset)]
    assert any(start in c.text for start in starts), c.text
    assert not any(q.split("{")[0] in c.text for q in BUNDLED("questions", preset)), c.text
    assert (c.emotion == "joy") is (landed == "laughed")
    cold = ENGINE.reply(ctx_for(p, turn=2), line, analyze(line))
    assert not any(n.startswith("core:joke") for n in cold.notes), cold.notes


def test_a_line_opening_with_a_stage_direction_is_capitalised_after_it() -> None:
    """"*rubs the back of his neck* traveller. Hello." (Ansel's greeting after his lead quirk)."""
    assert clean("*rubs the back of his neck* traveller. hello.") == "*rubs the back of his neck* Traveller. Hello."
    assert clean("I said *softly* that it was fine.") == "I said *softly* that it was fine."


@pytest.mark.parametrize("seed", range(4))
def test_praise_of_the_song_is_thanked_not_taken_for_the_romance_topic(seed: int) -> None:
    """"That was beautiful." after Rook's song got his love-topic line ("Everyone in this
    village is in love with someone…": "beautiful" is one of its keywords)."""
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    rook = load_personas(SAMPLE_PERSONAS).personas["rook"]
    conv = Conversation(rook, seed=seed)
    conv.say("Sing me something, would you?")
    praised = conv.say("That was beautiful.")
    assert "core:applause" in praised.notes, praised.notes
    assert not any(line in praised.text for line in rook.topics["love"].lines), praised.text


def test_praise_right_after_a_joke_is_its_laugh() -> None:
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    conv = Conversation(load_personas(SAMPLE_PERSONAS).personas["goldie"], seed=2)
    conv.say("Tell me a joke.")
    assert "core:joke:laughed" in conv.say("That was brilliant!").notes


@pytest.mark.parametrize(
    ("line", "start"),
    [
        ("Why did you leave the army?", "Why did I leave?"),
        ("Tell me about the Greywater bridge.", "The Greywater bridge?"),
    ],
)
def test_of_a_topics_lines_the_one_the_question_is_about_is_said(line: str, start: str) -> None:
    """"Why did you leave the army?" got "I've no idea what you just said" from the captain
    (no army topic) and "Tell me about the Greywater bridge." her village line ("bridge")."""
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    hesper = load_personas(SAMPLE_PERSONAS).personas["hesper"]
    for seed in range(4):
        text = Conversation(hesper, seed=seed).say(line).text
        assert start in text, (seed, text)


@pytest.mark.parametrize("persona", ["goldie", "ansel", "sorrel", "rook", "hesper"])
def test_a_fear_with_a_bad_news_word_in_it_is_comforted(persona: str) -> None:
    """"I am scared of the wolves in the woods." got "Ah. That's… I'm sorry. Genuinely.":
    wolves are a bad-news word, but the line is a fear."""
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    npc = load_personas(SAMPLE_PERSONAS).personas[persona]
    said = Conversation(npc, seed=2).say("I am scared of the wolves in the woods.")
    assert "care:comfort" in said.notes, said.notes


def test_a_fact_chosen_by_meaning_is_not_said_twice() -> None:
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    goldie = load_personas(SAMPLE_PERSONAS).personas["goldie"]
    for seed in range(4):
        conv = Conversation(goldie, seed=seed)
        first = conv.say("Have you ever heard the chapel bell?").text
        again = conv.say("Have you ever heard the chapel bell?").text
        assert "chapel bell rings itself" in first and "chapel bell rings itself" not in again, (first, again)


@pytest.mark.parametrize("seed", range(4))
def test_told_the_errand_is_done_goldie_says_the_cellar_line_that_fits(seed: int) -> None:
    """"I cleared your cellar of rats." (a later meeting, the errand done) got "Bless you,
    I've no idea." (no cellar topic); of the cellar lines, the one about the cellar cleared."""
    from sidecar.personas.loader import load_personas  # noqa: PLC0415

    goldie = load_personas(SAMPLE_PERSONAS).personas["goldie"]
    text = Conversation(goldie, seed=seed).say("I've been down your cellar and shifted the big grey one.").text
    assert "If the big grey one's gone" in text, text
