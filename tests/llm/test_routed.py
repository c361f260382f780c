"""`RoutedSource` (sidecar/engine/routed.py) in process: a real Router against loopback
providers, the real embedded engine and a shipped persona."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, Recorder, make_router

from sidecar.engine import goals as goal_rules
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.options import OPTIONS_SCHEMA
from sidecar.engine.personality import tune
from sidecar.engine.routed import RoutedSource
from sidecar.engine.sentiment import analyze
from sidecar.engine.turn import TurnInput
from sidecar.engine.types import PLAYER, Line, Option, TurnContext
from sidecar.llm import Router
from sidecar.llm.costs import MemoryLedger
from sidecar.personas.loader import load_personas

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
ENV = {"MAIN_KEY": TEST_KEY}
FALLBACK = [Option("Embedded ask, is it?", "ask"), Option("Embedded share here.", "share"), Option("Bye.", "leave")]
GOOD = "The forge has been busy all week, friend. What brings you here?"


def config(fake: FakeProvider, *, json_mode: str = "json_schema", key_env: str = "MAIN_KEY") -> str:
    return f"""
[router]
chain = ["main"]
[limits]
retries = 0
[providers.main]
kind = "{fake.dialect}"
base_url = "{fake.base_url}"
model = "main-model"
api_key_env = "{key_env}"
keyring = false
{'json = "' + json_mode + '"' if fake.dialect == "openai" else ""}
"""


def turn_input(text: str = "Hello there, smith.", *, goal_hint: str | None = None, seed: int = 5) -> TurnInput:
    persona = load_personas(PERSONAS).personas["ansel"]
    ctx = TurnContext(
        persona=persona,
        player="Ana",
        affinity=50,
        seed=seed,
        turn=1,
        history=(Line("ansel", "Oh. Hello."),),
    )
    sentiment = analyze(text)
    composed = EmbeddedEngine().reply(ctx, text, sentiment)
    return TurnInput(
        ctx=ctx,
        player_text=text,
        sentiment=sentiment,
        tuning=tune(persona, 50),
        composed=composed,
        goal_hint=goal_hint,
        other_names=("Goldie", "Rook"),
        conversation="c_test",
    )


@pytest.fixture
async def router(openai_fake: FakeProvider) -> AsyncIterator[Router]:
    async with make_router(config(openai_fake), MemoryLedger(), env=ENV) as r:
        yield r


async def test_the_request_carries_tuning_goal_hint_and_the_players_line(router: Router) -> None:
    source = RoutedSource(router, EmbeddedEngine())
    turn = turn_input(goal_hint="The player is trying to: win your trust.")
    req = source.request(turn)
    assert req.temperature == turn.tuning.temperature and req.max_tokens == turn.tuning.max_tokens
    assert req.frequency_penalty == turn.tuning.frequency_penalty
    assert turn.tuning.style_text in req.system and "win your trust" in req.system
    assert req.messages[-1].content == "Hello there, smith." and req.messages[-1].role == "user"
    assert req.tags.conversation == "c_test" and req.tags.persona == "ansel" and req.tags.purpose == "line"
    assert "win your trust" not in source.request(turn_input()).system
    retry = source.request(turn, 2)
    assert retry.temperature > req.temperature and "previous answer was rejected" in retry.system


async def test_the_request_calls_the_player_by_the_display_name_the_game_gave(router: Router) -> None:
    from dataclasses import replace

    from sidecar.engine.state import ConversationState

    source = RoutedSource(router, EmbeddedEngine())
    turn = turn_input()
    named = replace(turn, ctx=replace(turn.ctx, player="p_7", state=ConversationState(player_name="Wren")))
    req = source.request(named)
    assert "Wren" in req.system and "never ask for it" in req.system and "p_7" not in req.system
    assert "\nWren:" in req.stop
    assert "never ask for it" not in source.request(turn).system


async def test_a_provider_line_is_cleaned_and_keeps_the_embedded_composition(
    openai_fake: FakeProvider, router: Router
) -> None:
    openai_fake.queue(Reply(text=f"Ansel: {GOOD}\nAna: Thanks!"))
    source = RoutedSource(router, EmbeddedEngine())
    turn = turn_input()
    recorder = Recorder()
    got = await source.generate(turn, 0, on_delta=recorder.delta, emit=recorder.event)
    assert got.text == GOOD == recorder.text_since_reset()
    assert got.provider == "main" and got.composed is turn.composed


async def test_with_no_usable_provider_a_retry_composes_another_embedded_line(openai_fake: FakeProvider) -> None:
    async with make_router(config(openai_fake), MemoryLedger(), env={}) as router:
        source = RoutedSource(router, EmbeddedEngine())
        turn = turn_input()
        recorder = Recorder()
        first = await source.generate(turn, 0, on_delta=None, emit=recorder.event)
        retry = await source.generate(turn, 1, on_delta=None, emit=recorder.event)
        assert await source.options(turn, first, FALLBACK) == FALLBACK
    assert openai_fake.calls == 0
    assert (first.provider, retry.provider) == ("embedded", "embedded")
    assert first.text == turn.composed.text and first.composed is turn.composed
    assert retry.text != first.text and retry.composed is not turn.composed
    assert [e["to"] for e in recorder.events("provider.fallback")] == ["embedded"], "said once"


async def _options(fake: FakeProvider, reply: Reply, json_mode: str) -> tuple[list[Option], dict[str, object]]:
    fake.queue(Reply(text=GOOD), reply)
    async with make_router(config(fake, json_mode=json_mode), MemoryLedger(), env=ENV) as router:
        source = RoutedSource(router, EmbeddedEngine())
        turn = turn_input()
        line = await source.generate(turn, 0, on_delta=None, emit=Recorder().event)
        got = await source.options(turn, line, FALLBACK)
    return got, fake.received[-1].body


async def test_options_use_json_schema_where_the_provider_has_it(openai_fake: FakeProvider) -> None:
    offered = [{"text": "What do you make at the forge?", "intent": "ask"}]
    got, body = await _options(openai_fake, Reply(text=json.dumps({"options": offered})), "json_schema")
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": OPTIONS_SCHEMA, "strict": False},
    }
    assert got == [Option("What do you make at the forge?", "ask")]


async def test_options_use_json_object_mode_with_the_schema_in_the_prompt(openai_fake: FakeProvider) -> None:
    offered = {"options": [{"text": "Do you ever take a day off?", "intent": "ask"}]}
    got, body = await _options(openai_fake, Reply(text=json.dumps(offered)), "json_object")
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]["content"]
    assert isinstance(system, str) and "JSON Schema" in system and '"intent"' in system
    assert got == [Option("Do you ever take a day off?", "ask")]


async def test_options_use_the_strict_text_format_without_structured_output(openai_fake: FakeProvider) -> None:
    text = "ask: What ore comes down from the mine?\nshare: I grew up near a forge too.\nleave: I'll let you work."
    got, body = await _options(openai_fake, Reply(text=text), "prompt")
    assert "response_format" not in body
    prompt = body["messages"][-1]["content"]
    assert isinstance(prompt, str) and "ask: <reply>" in prompt
    assert [o.intent for o in got] == ["ask", "share", "leave"]
    assert got[0].text == "What ore comes down from the mine?"


@pytest.mark.parametrize(
    "reply",
    [Reply(mode="malformed"), Reply(text='{"options": "none"}'), Reply(mode="status", status=500), Reply(mode="empty")],
    ids=["malformed-json", "wrong-shape", "server-error", "empty"],
)
async def test_unusable_options_give_exactly_the_embedded_fallback(openai_fake: FakeProvider, reply: Reply) -> None:
    got, _ = await _options(openai_fake, reply, "json_schema")
    assert got == FALLBACK


async def test_the_goal_judge_parses_a_verdict_and_gives_none_for_garbage(
    openai_fake: FakeProvider, router: Router
) -> None:
    source = RoutedSource(router, EmbeddedEngine())
    goal = goal_rules.BUILTIN_GOALS["build_trust"]
    verdicts: list[goal_rules.GoalCheck | None] = []
    for answer in ('{"progress": 0.5, "completed": false, "reason": "warming up"}', "I think so?"):
        openai_fake.queue(Reply(text=GOOD), Reply(text=answer))
        turn = turn_input()
        line = await source.generate(turn, 0, on_delta=None, emit=Recorder().event)
        lines = [Line(PLAYER, turn.player_text), Line("ansel", line.text)]
        verdicts.append(await source.judge(turn, line, goal, lines))
    assert verdicts[0] is not None and verdicts[0].progress == 0.5 and verdicts[0].reason == "warming up"
    assert verdicts[1] is None, "not JSON: the heuristics decide"
    judged = openai_fake.received[1].body
    assert judged["temperature"] == 0.0 and judged["response_format"]["type"] == "json_schema"


async def test_a_scene_line_carries_the_scene_instruction_and_who_is_present(router: Router) -> None:
    from dataclasses import replace

    from sidecar.engine.scene.cue import Answering, make_cue

    village = load_personas(PERSONAS).personas
    source = RoutedSource(router, EmbeddedEngine())
    turn = turn_input("Ansel, what does Goldie think of your forge?")
    cue = make_cue(
        village["ansel"],
        ["goldie"],
        [village["ansel"], village["goldie"], village["rook"]],
        player_name="Ana",
        answering=Answering(PLAYER, "Ana", turn.player_text),
    )
    req = source.request(replace(turn, scene=cue))
    assert "[Scene] You are Ansel" in req.system and "Address Goldie by name" in req.system
    assert "Also present: Goldie" in req.system and "\nGoldie:" in req.stop and "\nRook:" in req.stop
    plain = source.request(turn)
    assert "[Scene]" not in plain.system and "Also present" not in plain.system


@pytest.mark.parametrize("stream", [False, True])
async def test_lines_a_provider_writes_for_others_in_a_scene_are_cut_and_named(
    openai_fake: FakeProvider, router: Router, stream: bool
) -> None:
    """The loopback provider does what models do in a scene: it voices the others too."""
    from dataclasses import replace

    from sidecar.engine.scene.attribution import VOICED
    from sidecar.engine.scene.cue import Answering, make_cue

    village = load_personas(PERSONAS).personas
    openai_fake.queue(Reply(text="Hm. The forge is lit, Goldie. Goldie: Oh, Ansel, you dear! Rook: I'll sing of it!"))
    source = RoutedSource(router, EmbeddedEngine())
    turn = turn_input("Ansel and Goldie, is the forge lit?")
    cue = make_cue(village["ansel"], ["goldie"], [village["ansel"], village["goldie"], village["rook"]],
                   player_name="Ana", answering=Answering(PLAYER, "Ana", turn.player_text))
    recorder = Recorder()
    got = await source.generate(replace(turn, scene=cue, other_names=("Goldie", "Rook")), 0,
                                on_delta=recorder.delta if stream else None, emit=recorder.event)
    assert got.text == "Hm. The forge is lit, Goldie."
    if stream:
        assert recorder.text_since_reset() == got.text  # the player never saw the others' lines
    assert got.meta[VOICED] == [["goldie", "Oh, Ansel, you dear!"], ["rook", "I'll sing of it!"]]
    openai_fake.queue(Reply(text=GOOD))
    plain = await source.generate(replace(turn, scene=cue), 0, on_delta=None, emit=recorder.event)
    assert VOICED not in plain.meta
