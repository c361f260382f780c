"""The sequencer (`Dialogue`, sidecar/engine/turn.py) over the steps: an LLM turn composes no
embedded line and stores the line the player saw; a fallback turn composes one; `choose`
runs the same steps as `say`. Real SQLite store; the provider is a loopback server."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import TEST_KEY, make_router, one_openai_provider  # noqa: E402

from sidecar.engine.embedded import EmbeddedEngine  # noqa: E402
from sidecar.engine.recollect import Recollection
from sidecar.engine.routed import RoutedSource  # noqa: E402
from sidecar.engine.state import ConversationState  # noqa: E402
from sidecar.engine.text import normalize  # noqa: E402
from sidecar.engine.tone import ToneReading
from sidecar.engine.turn import Dialogue, PersonaRegistry  # noqa: E402
from sidecar.engine.types import Composed, Sentiment, TurnContext  # noqa: E402
from sidecar.errors import BadRequest  # noqa: E402
from sidecar.llm.costs import MemoryLedger  # noqa: E402
from sidecar.store.db import Store  # noqa: E402

LINE = "The forge has been busy all week, friend. What brings you here?"
OPTIONS = {
    "options": [
        {"text": "What are you forging today?", "intent": "ask"},
        {"text": "I once worked a bellows myself.", "intent": "share"},
        {"text": "I'll leave you to it.", "intent": "leave"},
    ]
}


class CountingEngine(EmbeddedEngine):
    """The real embedded engine, counting the reply lines it composed."""

    def __init__(self) -> None:
        super().__init__()
        self.replies = 0

    def reply(
        self,
        ctx: TurnContext,
        player_text: str,
        sentiment: Sentiment,
        tone: ToneReading | None = None,
        memories: Sequence[Recollection] = (),
        *,
        news: str = "",
    ) -> Composed:
        self.replies += 1
        return super().reply(ctx, player_text, sentiment, tone, memories, news=news)


async def _llm_turn(
    store: Store, registry: PersonaRegistry, fake: FakeProvider, env: dict[str, str], text: str
) -> tuple[str, CountingEngine, str]:
    engine = CountingEngine()
    async with make_router(one_openai_provider(fake.base_url), MemoryLedger(), env=env) as router:
        dialogue = Dialogue(store, registry, engine, source=RoutedSource(router, engine))
        started = await dialogue.start("ansel", "p1", seed=5)
        said = await dialogue.say(started.conversation, text, stream=True)
    return started.conversation, engine, said.line.text


async def test_an_llm_turn_composes_nothing_and_stores_the_line_the_player_saw(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text=LINE), Reply(text=json.dumps(OPTIONS)))
    cid, engine, text = await _llm_turn(store, registry, openai_fake, {"MAIN_KEY": TEST_KEY}, "I'm Ana. How's work?")
    assert text == LINE and engine.replies == 0
    rows = await store.lines(cid)
    assert rows[-1].text == LINE and rows[-1].provider == "main"
    conv = await store.conversation(cid)
    assert conv is not None
    state = ConversationState.from_json(conv.memory)
    assert state.engine.said[-1] == normalize(LINE), "the state records the provider's line"
    assert state.engine.player_name == "Ana"
    assert [o.text for o in state.options] == [o["text"] for o in OPTIONS["options"]]


async def test_a_fallback_turn_composes_the_embedded_line_and_stores_it(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    cid, engine, text = await _llm_turn(store, registry, openai_fake, {}, "How's work?")  # no key: embedded
    assert openai_fake.calls == 0 and engine.replies >= 1
    rows = await store.lines(cid)
    assert rows[-1].text == text and rows[-1].provider == "embedded"
    conv = await store.conversation(cid)
    assert conv is not None and ConversationState.from_json(conv.memory).engine.said[-1] == normalize(text)


async def test_choose_says_the_shown_option_through_the_same_steps(dialogue: Dialogue, store: Store) -> None:
    started = await dialogue.start("ansel", "p1", seed=5)
    said = await dialogue.choose(started.conversation, 0)
    assert said.player_text == started.options[0].text
    rows = await store.lines(started.conversation)
    assert [r.text for r in rows[-2:]] == [started.options[0].text, said.line.text]
    conv = await store.conversation(started.conversation)
    assert conv is not None and ConversationState.from_json(conv.memory).options == tuple(said.options)


async def test_choose_an_option_that_was_not_shown_changes_nothing(dialogue: Dialogue, store: Store) -> None:
    started = await dialogue.start("ansel", "p1", seed=5)
    before = await store.conversation(started.conversation)
    with pytest.raises(BadRequest, match="no option 3"):
        await dialogue.choose(started.conversation, 3)
    assert await store.conversation(started.conversation) == before
    assert len(await store.lines(started.conversation)) == 1
