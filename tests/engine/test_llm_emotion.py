"""What an LLM turn takes from the model's own line: the face it proposes (issue 11 §4: "an
LLM may propose it with the line"; the answer-options block's `emotion:` line, taken when it
is one of the eight, derived otherwise), and no yes option for a price the model named in its
own words. Whole turns through `Dialogue` on a real SQLite store, the provider a loopback
server speaking OpenAI's wire format."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import TEST_KEY, make_router, one_openai_provider  # noqa: E402

from sidecar.engine.actions import accept_options  # noqa: E402
from sidecar.engine.embedded import EmbeddedEngine  # noqa: E402
from sidecar.engine.emotion import derive  # noqa: E402
from sidecar.engine.routed import RoutedSource  # noqa: E402
from sidecar.engine.sentiment import analyze  # noqa: E402
from sidecar.engine.turn import Dialogue, PersonaRegistry, Said  # noqa: E402
from sidecar.llm.costs import MemoryLedger  # noqa: E402
from sidecar.store.db import Store  # noqa: E402

LINE = "The forge is quiet today. I was just sweeping up."
BLOCK = "[options]\nask: What do you make most?\nshare: I swept a barn once.\nleave: I'll let you work."


async def _say(store: Store, registry: PersonaRegistry, fake: FakeProvider, text: str) -> Said:
    async with make_router(one_openai_provider(fake.base_url), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        engine = EmbeddedEngine()
        dialogue = Dialogue(store, registry, engine, source=RoutedSource(router, engine))
        started = await dialogue.start("ansel", "p1", seed=3)
        return await dialogue.say(started.conversation, text)


@pytest.mark.parametrize("proposed", ["sadness", "Surprise", "  fear "])
async def test_the_models_emotion_line_is_the_face_of_its_line(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider, proposed: str
) -> None:
    openai_fake.default = Reply(text=f"{LINE}\n{BLOCK}\nemotion: {proposed}")
    said = await _say(store, registry, openai_fake, "What are you doing?")
    assert said.line.text == LINE, "the block is neither said nor stored"
    assert said.feeling.emotion == proposed.strip().lower()
    assert 0.4 <= said.feeling.intensity <= 1.0
    system = str(openai_fake.received[0].body["messages"][0]["content"])  # type: ignore[index]
    assert "emotion:" in system, "the line request asks for it"


@pytest.mark.parametrize("block", [f"{BLOCK}\nemotion: smug", BLOCK], ids=["not-one-of-the-eight", "none"])
async def test_without_a_usable_emotion_line_the_face_is_derived(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider, block: str
) -> None:
    openai_fake.default = Reply(text=f"{LINE}\n{block}")
    said = await _say(store, registry, openai_fake, "What are you doing?")
    assert said.line.text == LINE
    assert said.feeling.emotion == derive(LINE, analyze(LINE)).emotion


async def test_a_price_named_by_the_model_gets_no_yes_option_that_would_decide_nothing(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    """Goldie's rule quotes "How much for a room?", but on an LLM turn the model says its own
    line: "Yes, I'll take it." offered there would answer a quote nobody said."""
    openai_fake.default = Reply(text=f"Five coppers a night, love, breakfast in.\n{BLOCK}\nemotion: joy")
    config = one_openai_provider(openai_fake.base_url)
    async with make_router(config, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        engine = EmbeddedEngine()
        dialogue = Dialogue(store, registry, engine, source=RoutedSource(router, engine))
        started = await dialogue.start("goldie", "p1", seed=3)
        said = await dialogue.say(started.conversation, "How much for a room?")
    assert said.provider != "embedded" and said.actions == ()
    assert not any(o.text in accept_options() for o in said.options), [o.text for o in said.options]
