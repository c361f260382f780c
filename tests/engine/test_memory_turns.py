"""Long-term memory through the turn pipeline (`Dialogue`) on a real SQLite store: what a turn
leaves in memory, what a later meeting recalls, and how the embedded engine and an LLM prompt
use it. The provider is a loopback server (its extraction: structured, garbage, failing)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import TEST_KEY, make_router, one_openai_provider  # noqa: E402

from sidecar.engine.embedded import EmbeddedEngine  # noqa: E402
from sidecar.engine.recollect import RecallWeights  # noqa: E402
from sidecar.engine.routed import RoutedSource  # noqa: E402
from sidecar.engine.turn import Dialogue, PersonaRegistry  # noqa: E402
from sidecar.llm.costs import MemoryLedger  # noqa: E402
from sidecar.store.db import Store  # noqa: E402
from sidecar.store.memory import Memory, NewMemory  # noqa: E402

PLAYER = "player-7"


async def _meeting(dialogue: Dialogue, lines: list[str], *, persona: str = "ansel", seed: int = 3) -> list[str]:
    """One conversation: the greeting, then each reply; ended with a farewell."""
    started = await dialogue.start(persona, PLAYER, seed=seed)
    said = [started.line.text]
    for text in lines:
        reply = await dialogue.say(started.conversation, text)
        said.append(reply.line.text)
        if reply.ended:
            return said
    await dialogue.end(started.conversation)
    return said


def _kinds(memories: list[Memory]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in memories:
        out.setdefault(m.kind, []).append(m.text)
    return out


async def test_a_first_meeting_leaves_facts_and_events_sourced_to_their_lines(
    dialogue: Dialogue, store: Store
) -> None:
    lines = [
        "Hello! I'm Mira.",
        "I love fishing, but I can't stand the rain.",
        "I promise I'll bring you a fresh trout next time.",
        "Don't tell anyone, but I'm afraid of horses.",
        "I found your cat in the Hollins.",
        "You are a useless, stupid oaf.",
        "Sorry, I didn't mean that.",
    ]
    await _meeting(dialogue, lines)
    memories = await dialogue.memories.for_pair(PLAYER, "ansel")
    kinds = _kinds(memories)
    assert kinds["name"] == ["The player's name is Mira."]
    assert kinds["like"] == ["The player loves fishing."] and kinds["dislike"] == ["The player can't stand the rain."]
    assert kinds["promise"] == ["The player promised to bring me a fresh trout next time."]
    assert kinds["secret"] == ['The player told me a secret: "Don\'t tell anyone, but I\'m afraid of horses."']
    assert kinds["favour"] == ["The player found my cat in the Hollins."]
    assert len(kinds["quarrel"]) == 1 and "useless" in kinds["quarrel"][0]
    assert kinds["event"] == ["The player apologised to me."]
    assert all(1 <= m.importance <= 10 for m in memories)
    assert max(memories, key=lambda m: m.importance).kind == "secret"
    conversation = memories[0].source.conversation  # type: ignore[union-attr]
    history = await store.lines(conversation)
    for m in memories:
        assert m.source is not None and m.source.conversation == conversation
        assert history[m.source.seq].speaker == "player"
        assert history[m.source.seq].text == lines[(m.source.seq - 1) // 2]


async def test_small_talk_and_nonsense_leave_nothing(dialogue: Dialogue) -> None:
    await _meeting(dialogue, ["Hello there.", "blorp zzz qwerty", "asdf; DROP TABLE memories; --", "How's work?",
                              "What do you think of the weather?", "Tell me about yourself."])
    assert await dialogue.memories.for_pair(PLAYER, "ansel") == []


async def test_a_second_meeting_greets_by_name_and_brings_up_the_promise(dialogue: Dialogue) -> None:
    first = await _meeting(dialogue, ["Hi, I'm Mira.", "I promise I'll bring you a fresh trout next time."])
    assert "Mira" not in first[0]
    second = await _meeting(dialogue, ["Do you remember me?", "What's my name?"], seed=4)
    greeting, remember, name = second[:3]
    assert "Mira" in greeting and "trout" in greeting and "next time" not in greeting, greeting
    assert "Mira" in remember or "trout" in remember, remember
    assert "Mira" in name and "five minutes" not in name, name


async def test_likes_from_an_earlier_meeting_are_known_and_brought_up(dialogue: Dialogue) -> None:
    await _meeting(dialogue, ["I'm Mira. I love fishing."])
    second = await _meeting(dialogue, ["What do I like?", "I went fishing at the river today."], seed=5)
    assert "fishing" in second[1], second[1]
    assert "fishing" in second[2], second[2]


async def test_a_gift_keeps_the_promise_and_the_npc_stops_bringing_it_up(dialogue: Dialogue) -> None:
    await _meeting(dialogue, ["I'm Mira.", "I promise I'll bring you a fresh trout."])
    second = await _meeting(dialogue, ["Here is the trout I promised."], seed=6)
    assert "promise" in second[1].lower() or "remembered" in second[1].lower(), second[1]
    kinds = _kinds(await dialogue.memories.for_pair(PLAYER, "ansel"))
    assert "promise" not in kinds
    assert "The player kept their promise to bring me a fresh trout." in kinds["event"]
    assert kinds["gift"] == ["The player gave me the trout they promised."]
    third = await _meeting(dialogue, [], seed=7)
    assert "Mira" in third[0] and "trout" not in third[0], third[0]


async def test_saying_it_is_done_keeps_the_promise(dialogue: Dialogue) -> None:
    await _meeting(dialogue, ["I'm Bram.", "I promise I'll report any trouble at the bridge."], persona="hesper")
    said = await _meeting(dialogue, ["I reported the trouble at the bridge, as promised."], persona="hesper", seed=12)
    assert "promise" in said[1].lower() or "word" in said[1].lower(), said[1]
    kinds = _kinds(await dialogue.memories.for_pair(PLAYER, "hesper"))
    assert "promise" not in kinds
    assert kinds["event"] == ["The player kept their promise to report any trouble at the bridge."]


async def test_a_secret_is_never_said_aloud_as_a_memory(dialogue: Dialogue) -> None:
    await _meeting(dialogue, ["Between you and me, I stole the mayor's pig."])
    said = await _meeting(dialogue, ["Do you remember me?", "What do you remember about me?", "The pig is loose."],
                          seed=8)
    assert not any("pig" in line for line in said), said
    kept = await _meeting(dialogue, ["Do you remember what I told you about the pig?"], seed=9)
    assert "pig" not in kept[1] and any(w in kept[1].lower() for w in ("told", "secret", "between", "word")), kept


async def test_remember_the_thing_answers_with_that_memory(dialogue: Dialogue) -> None:
    await _meeting(dialogue, ["I'm Mira.", "I brought you some apples from my orchard.", "I love old maps."])
    said = await _meeting(dialogue, ["Remember the apples?", "I found an old map of the valley."], seed=10)
    assert "apples" in said[1], said[1]
    assert "old maps" in said[2], said[2]


async def test_memory_is_per_player_and_persona(dialogue: Dialogue, store: Store) -> None:
    await _meeting(dialogue, ["I'm Mira.", "I promise I'll bring you a fresh trout."])
    other = await dialogue.start("goldie", PLAYER, seed=3)
    assert "Mira" not in other.line.text and "trout" not in other.line.text
    stranger = await dialogue.start("ansel", "someone-else", seed=4)
    assert "Mira" not in stranger.line.text and "trout" not in stranger.line.text


async def test_a_game_event_is_recalled_when_relevant(dialogue: Dialogue) -> None:
    await dialogue.memories.add(PLAYER, "ansel", NewMemory("event", "The player saved the mill.", 7))
    said = await _meeting(dialogue, ["Do you remember me?", "The mill wheel is turning again."], seed=9)
    assert "saved the mill" in said[1]


async def test_recall_weights_are_configurable(store: Store, registry: PersonaRegistry) -> None:
    none = Dialogue(store, registry, recall=RecallWeights(limit=0))
    await _meeting(none, ["I'm Mira.", "I promise I'll bring you a fresh trout."])
    greeting = (await none.start("ansel", PLAYER, seed=4)).line.text
    assert "trout" not in greeting, "with no memory recalled, no promise is brought up"
    assert len(await none.memories.for_pair(PLAYER, "ansel")) == 2, "memories are still made"


# --- with an LLM provider ----------------------------------------------------------------------

LINE = "Welcome back to the forge. What can I do for you?"
OPTIONS = [
    {"text": "What are you forging today?", "intent": "ask"},
    {"text": "I once worked a bellows myself.", "intent": "share"},
    {"text": "I'll leave you to it.", "intent": "leave"},
]


def _extraction(*items: dict[str, object]) -> Reply:
    return Reply(text=json.dumps({"memories": list(items)}))


async def _llm(
    store: Store, registry: PersonaRegistry, fake: FakeProvider, lines: list[str], *, extra: str = ""
) -> tuple[str, Dialogue]:
    config = one_openai_provider(fake.base_url) + extra
    async with make_router(config, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        engine = EmbeddedEngine()
        dialogue = Dialogue(store, registry, engine, source=RoutedSource(router, engine))
        started = await dialogue.start("ansel", PLAYER, seed=3)
        for text in lines:
            await dialogue.say(started.conversation, text)
        return started.conversation, dialogue


async def test_the_providers_structured_extraction_is_stored(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(
        Reply(text=LINE),
        Reply(text=json.dumps({"options": OPTIONS})),
        _extraction(
            {"kind": "promise", "text": "The player promised to fix my bellows.", "importance": 7, "said_by": "player"},
            {"kind": "like", "text": "The player is fond of old maps.", "importance": 3, "said_by": "player"},
        ),
    )
    openai_fake.default = Reply(text=LINE)
    await _llm(store, registry, openai_fake, ["I'm Mira, and I'll mend your bellows one day, I love old maps."])
    kinds = _kinds(await Dialogue(store, registry).memories.for_pair(PLAYER, "ansel"))
    assert kinds["promise"] == ["The player promised to fix my bellows."]
    assert kinds["like"] == ["The player is fond of old maps."]
    assert kinds["name"] == ["The player's name is Mira."], "the rules' name is kept beside the provider's reading"
    extraction = [r.body for r in openai_fake.received if "long-term memory of" in json.dumps(r.body)]
    assert len(extraction) == 1 and openai_fake.calls == 3
    assert extraction[0]["response_format"]["type"] == "json_schema"  # type: ignore[index]


async def test_garbage_or_a_failing_provider_falls_back_to_the_heuristics(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    options = Reply(text=json.dumps({"options": OPTIONS}))
    lines = [Reply(text=t) for t in (LINE, "Trout? I'd like that very much.", "Horses can be big, yes.")]
    openai_fake.queue(
        lines[0], options, Reply(text="Sure! Here are the memories: the player likes trout."),
        lines[1], options, _extraction({"kind": "gossip", "text": "x", "importance": 5, "said_by": "player"}),
        lines[2], options, Reply(mode="status", status=500, error_type="server_error", error_message="boom"),
    )
    openai_fake.default = Reply(text=LINE)
    await _llm(store, registry, openai_fake, [
        "I'm Mira.", "I promise I'll bring you a fresh trout.", "Don't tell anyone, but I'm afraid of horses.",
    ])
    asked = [r for r in openai_fake.received if "long-term memory of" in json.dumps(r.body)]
    assert len(asked) == 3, "each turn asked the provider, which failed in three ways"
    kinds = _kinds(await Dialogue(store, registry).memories.for_pair(PLAYER, "ansel"))
    assert kinds["name"] == ["The player's name is Mira."]
    assert kinds["promise"] == ["The player promised to bring me a fresh trout."]
    assert len(kinds["secret"]) == 1


async def test_the_llm_prompt_lists_what_the_npc_remembers(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    await _meeting(Dialogue(store, registry), ["I'm Mira.", "I promise I'll bring you a fresh trout."])
    openai_fake.default = Reply(text=LINE)
    await _llm(store, registry, openai_fake, ["Did you get the trout?"])
    line_req = openai_fake.received[0].body
    system = line_req["messages"][0]["content"]
    assert "Things you remember:" in system
    assert "- The player promised to bring me a fresh trout." in system
    assert "- The player's name is Mira." in system
    assert system.index("- The player promised") < system.index("- The player's name"), "best first: the relevant one"


# --- memories asked with the line (inline_options: the `memory:` line of the block) ------------

PROMISE = {"kind": "promise", "text": "The player promised to fix my bellows.", "importance": 7, "said_by": "player"}
BLOCK = "[options]\nask: What are you forging today?\nshare: I once worked a bellows.\nleave: I'll leave you to it."
MEMORABLE = "I'm Mira, and I'll mend your bellows one day."


def _extraction_calls(fake: FakeProvider) -> list[object]:
    return [r.body for r in fake.received if "long-term memory of" in json.dumps(r.body)]


def _system(fake: FakeProvider, k: int = 0) -> str:
    return str(fake.received[k].body["messages"][0]["content"])  # type: ignore[index]


async def test_a_memorable_turn_takes_its_memories_from_the_line_in_one_call(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text=f"{LINE}\n{BLOCK}\nmemory: {json.dumps({'memories': [PROMISE]})}"))
    openai_fake.default = Reply(text=LINE)
    cid, dialogue = await _llm(store, registry, openai_fake, [MEMORABLE])
    assert openai_fake.calls == 1, "line, options and memories came in one reply"
    assert "memory:" in _system(openai_fake) and "The player's name is <name>." in _system(openai_fake)
    kinds = _kinds(await Dialogue(store, registry).memories.for_pair(PLAYER, "ansel"))
    assert kinds["promise"] == ["The player promised to fix my bellows."]
    assert kinds["name"] == ["The player's name is Mira."], "the rules' name is kept beside the line's reading"
    lines = await store.lines(cid)
    assert lines[-1].text == LINE, "the block is neither said nor stored"


async def test_small_talk_does_not_ask_for_memories(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text=f"{LINE}\n{BLOCK}"))
    openai_fake.default = Reply(text=LINE)
    await _llm(store, registry, openai_fake, ["Nice weather today, isn't it?"])
    assert "[options]" in _system(openai_fake) and "memory:" not in _system(openai_fake)
    assert openai_fake.calls == 1 and not _extraction_calls(openai_fake)


@pytest.mark.parametrize(
    "memory_line",
    ["", "memory: I will remember the bellows.", 'memory: {"memories": [{"kind": "gossip", "text": "x"}]}'],
    ids=["missing", "not-json", "not-the-schema"],
)
async def test_a_reply_without_a_usable_memory_line_gets_the_extraction_call(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider, memory_line: str
) -> None:
    openai_fake.queue(Reply(text=f"{LINE}\n{BLOCK}\n{memory_line}".rstrip()), _extraction(PROMISE))
    openai_fake.default = Reply(text=LINE)
    await _llm(store, registry, openai_fake, [MEMORABLE])
    assert len(_extraction_calls(openai_fake)) == 1 and openai_fake.calls == 2
    kinds = _kinds(await Dialogue(store, registry).memories.for_pair(PLAYER, "ansel"))
    assert kinds["promise"] == ["The player promised to fix my bellows."]


async def test_memory_in_line_false_keeps_the_separate_call(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text=f"{LINE}\n{BLOCK}"), _extraction(PROMISE))
    openai_fake.default = Reply(text=LINE)
    await _llm(store, registry, openai_fake, [MEMORABLE], extra="memory_in_line = false\n")
    assert "[options]" in _system(openai_fake) and "memory:" not in _system(openai_fake)
    assert len(_extraction_calls(openai_fake)) == 1
    assert _kinds(await Dialogue(store, registry).memories.for_pair(PLAYER, "ansel"))["promise"]


@pytest.mark.parametrize("seed", range(4))
async def test_an_insult_of_a_few_lines_ago_is_not_remembered_aloud_in_the_same_meeting(
    dialogue: Dialogue, seed: int
) -> None:
    """"This stew tastes amazing!" after "That stew smells off." got "Oh, and I remember: you
    insulted me: 'That stew smells off'!": within one meeting the quarrel is the arc's; a
    later meeting may bring it up."""
    said = await _meeting(dialogue, ["That stew smells off.", "This stew tastes amazing!", "Tell me about the stew."],
                          persona="goldie", seed=seed)
    assert not any("insulted" in s for s in said), said
    kinds = _kinds(await dialogue.memories.for_pair(PLAYER, "goldie"))
    assert len(kinds["quarrel"]) == 1 and "smells off" in kinds["quarrel"][0]
