"""NPC actions through each provider's real tool-call wire format (loopback stand-ins,
tests/llm/llm_fakes.py), in whole turns: a real store, the shipped blacksmith, the router,
the quality gate and the act step's validator.

OpenAI `tools` / `tool_calls` and Anthropic `tool_use`, streamed and not; several calls in
one reply; malformed arguments JSON and an unknown tool name (dropped, scored down, retried);
a reply that only acts; llama.cpp's structured `{"line", "actions"}` reply where the preset
has no tool calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, Recorder, make_router

from sidecar.engine.turn import Dialogue, PersonaRegistry, Said
from sidecar.llm.costs import MemoryLedger
from sidecar.personas.loader import load_personas
from sidecar.store.actions import ActionStore
from sidecar.store.db import Store
from sidecar.wiring import dialogue as make_dialogue

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
LINE = "Your sword? Leave it on the bench by Maudie, I'll have it right by supper."
ASK = "Could you fix my sword? I can pay."
MEND = ("repair_item", '{"item": "sword", "price": 3}')


def config(fake: FakeProvider, *, preset: str = "") -> str:
    kind = f'preset = "{preset}"' if preset else f'kind = "{fake.dialect}"'
    return f"""
[router]
chain = ["main"]
[limits]
retries = 0
[providers.main]
{kind}
base_url = "{fake.base_url}"
model = "main-model"
api_key_env = "MAIN_KEY"
keyring = false
options_in_line = false
"""


@pytest.fixture(scope="module")
def registry() -> PersonaRegistry:
    return PersonaRegistry(load_personas(PERSONAS).personas)


async def turn(
    fake: FakeProvider, store: Store, registry: PersonaRegistry, *replies: Reply, stream: bool, preset: str = ""
) -> tuple[Said, Recorder, Dialogue]:
    fake.queue(*replies)
    fake.default = Reply(text="ask: What else? share: I like iron. leave: Goodbye then, friend.")
    recorder = Recorder()
    async with make_router(config(fake, preset=preset), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        d: Dialogue = make_dialogue(store, registry, router, None)
        cid = (await d.start("ansel", "p1", seed=3)).conversation
        said = await d.say(cid, ASK, stream=stream, emit=recorder.event)
    return said, recorder, d


def shown(recorder: Recorder) -> str:
    """The line the game shows: `line.delta` texts after the last `line.reset`."""
    out: list[str] = []
    for name, data in recorder.items:
        if name == "line.reset":
            out = []
        elif name == "line.delta":
            out.append(data["text"])
    return "".join(out)


def line_request(fake: FakeProvider, n: int = 0) -> Mapping[str, Any]:
    return [r.body for r in fake.received if "tools" in r.body or "response_format" in r.body][n]


DIALECTS = [("openai", False), ("openai", True), ("anthropic", False), ("anthropic", True)]


@pytest.fixture(params=DIALECTS, ids=[f"{d}-{'stream' if s else 'whole'}" for d, s in DIALECTS])
async def wire(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeProvider, bool]]:
    dialect, stream = request.param
    fake = await FakeProvider(dialect, key=TEST_KEY).start()
    yield fake, stream
    await fake.stop()


async def test_the_line_and_its_action_come_from_one_call(
    wire: tuple[FakeProvider, bool], store: Store, registry: PersonaRegistry
) -> None:
    fake, stream = wire
    said, recorder, _ = await turn(fake, store, registry, Reply(text=LINE, tool_calls=[MEND]), stream=stream)
    assert said.line.text == LINE and said.provider == "main" and said.quality_retries == 0
    (action,) = said.actions
    assert (action.name, dict(action.args)) == ("repair_item", {"item": "sword", "price": 3})
    assert recorder.events("npc.action") == [{"id": action.id, "name": "repair_item", "args": dict(action.args)}]
    if stream:
        assert shown(recorder) == LINE
    body = line_request(fake)
    if fake.dialect == "openai":
        names = [t["function"]["name"] for t in body["tools"]]
        params = body["tools"][0]["function"]["parameters"]
        assert body["tool_choice"] == "auto"
    else:
        names = [t["name"] for t in body["tools"]]
        params = body["tools"][0]["input_schema"]
        assert body["tool_choice"] == {"type": "auto"}
    assert names == ["repair_item", "sell_item", "give_errand"]
    assert params["required"] == ["item", "price"] and params["properties"]["price"]["minimum"] == 1
    assert [r.id for r in await ActionStore(store).pending(said_conversation(store))] == [action.id]


def said_conversation(store: Store) -> str:
    rows = store.conn.execute("SELECT id FROM conversations").fetchall()
    return str(rows[0][0])


async def test_several_calls_in_one_reply_are_each_decided(
    wire: tuple[FakeProvider, bool], store: Store, registry: PersonaRegistry
) -> None:
    fake, stream = wire
    sell = ("sell_item", '{"item": "hinge", "price": 4}')
    said, recorder, _ = await turn(fake, store, registry, Reply(text=LINE, tool_calls=[MEND, sell]), stream=stream)
    assert [a.name for a in said.actions] == ["repair_item", "sell_item"]
    assert [e["name"] for e in recorder.events("npc.action")] == ["repair_item", "sell_item"]
    assert len({a.id for a in said.actions}) == 2


async def test_a_reply_that_only_acts_gets_its_line_from_the_embedded_engine(
    wire: tuple[FakeProvider, bool], store: Store, registry: PersonaRegistry
) -> None:
    fake, stream = wire
    said, recorder, _ = await turn(fake, store, registry, Reply(text="", tool_calls=[MEND]), stream=stream)
    assert said.line.text.strip() and said.provider == "main"
    assert [a.name for a in said.actions] == ["repair_item"]
    if stream:
        assert shown(recorder) == said.line.text


INVALID = [
    (("summon_dragon", "{}"), "unknown action"),
    (("repair_item", '{"item": "sword", "price": "3"}'), "arguments: price: Input should be a valid integer"),
    (("open_gate", "{}"), "not available to this persona"),
]


@pytest.mark.parametrize("bad", [call for call, _ in INVALID], ids=["unknown", "wrong_type", "other_persona"])
async def test_an_invalid_call_is_dropped_scored_down_and_the_retry_may_do_better(
    wire: tuple[FakeProvider, bool],
    store: Store,
    registry: PersonaRegistry,
    bad: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, stream = wire
    await retried(fake, stream, store, registry, bad, caplog)


async def retried(
    fake: FakeProvider,
    stream: bool,
    store: Store,
    registry: PersonaRegistry,
    bad: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sidecar.engine.pipeline.actions")
    said, recorder, _ = await turn(
        fake,
        store,
        registry,
        Reply(text=LINE, tool_calls=[bad]),
        Reply(text="Leave the sword with me. Three coppers, and it's done by supper.", tool_calls=[MEND]),
        stream=stream,
    )
    assert said.quality_retries == 1 and said.line.text.startswith("Leave the sword")
    assert [(a.name, dict(a.args)) for a in said.actions] == [("repair_item", {"item": "sword", "price": 3})]
    assert [e["name"] for e in recorder.events("npc.action")] == ["repair_item"]
    if stream:
        assert recorder.events("line.reset") and shown(recorder) == said.line.text
    # The kept line's call was valid, so nothing was dropped from it; the rejected attempt's
    # problem is what the gate scored: the second request was sent because of it.
    first, second = [json.dumps(r.body) for r in fake.received if "tools" in r.body]
    # The retry is told why: the dropped call's name and its reason.
    note = "Your previous answer proposed actions that cannot be done"
    assert note not in first and note in second and f"{bad[0]}: " in second
    assert not [r for r in caplog.records if r.getMessage() == "action dropped"]


# Anthropic's whole replies carry `input` as a JSON object, which cannot be malformed; its
# streams carry the text in `input_json_delta` pieces, which can.
MALFORMED = [("openai", False), ("openai", True), ("anthropic", True)]


@pytest.mark.parametrize(("dialect", "stream"), MALFORMED, ids=["openai-whole", "openai-stream", "anthropic-stream"])
async def test_malformed_arguments_json_is_dropped_and_retried(
    dialect: str, stream: bool, store: Store, registry: PersonaRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    fake = await FakeProvider(dialect, key=TEST_KEY).start()  # type: ignore[arg-type]
    try:
        await retried(fake, stream, store, registry, ("repair_item", '{"item": "sword", "price": '), caplog)
    finally:
        await fake.stop()


@pytest.mark.parametrize(("call", "why"), INVALID, ids=["unknown", "wrong_type", "other_persona"])
async def test_an_invalid_call_on_the_kept_line_never_reaches_the_game(
    wire: tuple[FakeProvider, bool],
    store: Store,
    registry: PersonaRegistry,
    caplog: pytest.LogCaptureFixture,
    call: tuple[str, str],
    why: str,
) -> None:
    fake, stream = wire
    caplog.set_level(logging.INFO, logger="sidecar.engine.pipeline.actions")
    bad = Reply(text=LINE, tool_calls=[call])
    said, recorder, _ = await turn(fake, store, registry, bad, bad, bad, stream=stream)
    assert said.quality_retries == 2 and said.actions == () and recorder.events("npc.action") == []
    assert said.quality_score < 60
    (dropped,) = [r for r in caplog.records if r.getMessage() == "action dropped"]
    assert dropped.__dict__["reason"].startswith(why) and dropped.__dict__["action"] == call[0]
    assert await ActionStore(store).pending(said_conversation(store)) == []


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_llamacpp_without_tool_calls_gets_a_structured_line_and_actions(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry, stream: bool
) -> None:
    reply = json.dumps({"line": LINE, "actions": [{"name": "repair_item", "args": {"item": "sword", "price": 3}}]})
    said, recorder, _ = await turn(openai_fake, store, registry, Reply(text=reply), stream=stream, preset="llamacpp")
    assert said.line.text == LINE
    assert [(a.name, dict(a.args)) for a in said.actions] == [("repair_item", {"item": "sword", "price": 3})]
    if stream:
        assert shown(recorder) == LINE  # the JSON never reaches the game
    body = line_request(openai_fake)
    assert "tools" not in body and body["response_format"]["type"] == "json_object"
    schema = body["response_format"]["schema"]
    names = [b["properties"]["name"]["const"] for b in schema["properties"]["actions"]["items"]["anyOf"]]
    assert names == ["repair_item", "sell_item", "give_errand"] and schema["required"] == ["line", "actions"]


async def test_llamacpp_structured_reply_that_is_not_the_object_falls_to_the_embedded_engine(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry
) -> None:
    said, recorder, _ = await turn(openai_fake, store, registry, Reply(text=LINE), stream=False, preset="llamacpp")
    assert said.provider == "embedded"
    assert [e["code"] for e in recorder.events("provider.fallback")] == ["provider_bad_reply"]
    # The embedded engine then decides by the persona's rule ("fix" + "sword").
    assert [(a.name, dict(a.args)) for a in said.actions] == [("repair_item", {"item": "sword", "price": 2})]


async def test_the_games_detail_goes_into_the_next_prompt_as_given(
    wire: tuple[FakeProvider, bool], store: Store, registry: PersonaRegistry
) -> None:
    fake, stream = wire
    fake.queue(Reply(text=LINE, tool_calls=[MEND]), Reply(text="Thank you kindly. Come back any time, friend."))
    fake.default = Reply(text="ask: What else? share: I like iron. leave: Goodbye then, friend.")
    async with make_router(config(fake), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        d = make_dialogue(store, registry, router, None)
        cid = (await d.start("ansel", "p1", seed=3)).conversation
        (action,) = (await d.say(cid, ASK, stream=stream)).actions
        await ActionStore(store).record_result(action.id, True, "the player paid three coppers")
        await d.say(cid, "Here you are.", stream=stream)
        await d.say(cid, "How is the forge?", stream=stream)
    told = "Your action repair_item went through: the player paid three coppers"
    by_line: dict[str, set[bool]] = {}
    for body in (r.body for r in fake.received if "tools" in r.body):
        player_line = body["messages"][-1]["content"]
        by_line.setdefault(player_line, set()).add(told in json.dumps(body))
    # Told once, in every attempt of the next turn only.
    assert by_line == {ASK: {False}, "Here you are.": {True}, "How is the forge?": {False}}


async def test_a_provider_is_offered_only_the_actions_possible_now(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry
) -> None:
    openai_fake.queue(Reply(text=LINE, tool_calls=[MEND]), Reply(text="Mind the sparks while you wait, friend."))
    openai_fake.default = Reply(text="ask: What else? share: I like iron. leave: Goodbye then, friend.")
    async with make_router(config(openai_fake), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        d = make_dialogue(store, registry, router, None)
        cid = (await d.start("ansel", "p1", seed=3)).conversation
        await d.say(cid, ASK)
        await d.say(cid, "And my axe?")
    offered = [[t["function"]["name"] for t in r.body["tools"]] for r in openai_fake.received if "tools" in r.body]
    assert offered[0] == ["repair_item", "sell_item", "give_errand"]
    assert offered[-1] == ["sell_item", "give_errand"]  # repair_item cools down for two turns


async def test_a_prompt_only_structured_reply_that_ignores_the_format_is_the_line_without_actions(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry
) -> None:
    toml = config(openai_fake) + 'tools = false\njson = "prompt"\n'
    openai_fake.queue(Reply(text=LINE))
    openai_fake.default = Reply(text="ask: What else? share: I like iron. leave: Goodbye then, friend.")
    async with make_router(toml, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        d = make_dialogue(store, registry, router, None)
        cid = (await d.start("ansel", "p1", seed=3)).conversation
        said = await d.say(cid, ASK)
    assert said.provider == "main" and said.line.text == LINE and said.actions == ()
    first = openai_fake.received[0].body
    assert not any("response_format" in r.body for r in openai_fake.received)
    assert "tools" not in first and '"actions"' in first["messages"][0]["content"]  # asked in the prompt


def deltas(recorder: Recorder) -> list[str]:
    return [data["text"] for name, data in recorder.items if name == "line.delta"]


async def test_llamacpp_structured_line_streams_as_it_is_read_from_the_json(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry
) -> None:
    line = 'Your "good" sword?\nLeave it by Maudie — café rules, I\'ll have it right by supper.'
    reply = json.dumps({"actions": [{"name": "repair_item", "args": {"item": "sword", "price": 3}}], "line": line})
    said, recorder, _ = await turn(openai_fake, store, registry, Reply(text=reply), stream=True, preset="llamacpp")
    assert said.line.text == line and [a.name for a in said.actions] == ["repair_item"]
    pieces = deltas(recorder)
    # Word by word as the fake sends it, escapes decoded; never the JSON around the line.
    assert "".join(pieces) == line and len(pieces) >= len(line.split(" ")) - 1
    assert recorder.events("line.reset") == []


async def test_a_prompt_only_reply_that_ignores_the_format_streams_as_plain_text(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry
) -> None:
    toml = config(openai_fake) + 'tools = false\njson = "prompt"\n'
    openai_fake.queue(Reply(text=LINE))
    openai_fake.default = Reply(text="ask: What else? share: I like iron. leave: Goodbye then, friend.")
    recorder = Recorder()
    async with make_router(toml, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        d = make_dialogue(store, registry, router, None)
        cid = (await d.start("ansel", "p1", seed=3)).conversation
        said = await d.say(cid, ASK, stream=True, emit=recorder.event)
    assert said.provider == "main" and said.line.text == LINE and said.actions == ()
    assert "".join(deltas(recorder)) == LINE and len(deltas(recorder)) > 1


async def test_a_structured_reply_whose_line_changes_after_streaming_is_reset(
    openai_fake: FakeProvider, store: Store, registry: PersonaRegistry
) -> None:
    # json.loads keeps the last of two `line` keys; the first was already on screen.
    reply = '{"line": "I will mend it.", "actions": [], "line": "Go away."}'
    said, recorder, _ = await turn(openai_fake, store, registry, Reply(text=reply), stream=True, preset="llamacpp")
    assert [e["code"] for e in recorder.events("provider.fallback")] == ["provider_bad_reply"]
    assert len(recorder.events("line.reset")) == 1 and said.provider == "embedded"
    assert shown(recorder) == said.line.text
