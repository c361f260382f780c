"""Step 3, generate (sidecar/engine/pipeline/generate.py): the quality gate over a line source,
streaming and resets, and the embedded composition made only when the embedded engine answers.

The LLM cases run the real `RoutedSource` and `Router` against a loopback provider
(tests/llm/llm_fakes.py); the embedded engine is the real one, counting its compositions."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import TEST_KEY, make_router  # noqa: E402

from sidecar.engine.cancel import CANCEL, CancelToken  # noqa: E402
from sidecar.engine.embedded import EmbeddedEngine  # noqa: E402
from sidecar.engine.pipeline.draft import Draft  # noqa: E402
from sidecar.engine.pipeline.generate import Generate  # noqa: E402
from sidecar.engine.quality import QualityGate  # noqa: E402
from sidecar.engine.recollect import Recollection
from sidecar.engine.routed import RoutedSource  # noqa: E402
from sidecar.engine.source import EmbeddedSource  # noqa: E402
from sidecar.engine.text import normalize  # noqa: E402
from sidecar.engine.tone import ToneReading
from sidecar.engine.types import Composed, Sentiment, TurnContext  # noqa: E402
from sidecar.errors import Cancelled  # noqa: E402
from sidecar.llm.costs import MemoryLedger  # noqa: E402

MakeDraft = Callable[..., Awaitable[Draft]]
GOOD = "The forge has been busy all week, friend. What brings you here?"


class Recorder:
    """What the game receives from the pipeline's `emit`, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    async def event(self, name: str, data: Mapping[str, Any]) -> None:
        self.items.append((name, dict(data)))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self.items if n == name]

    def deltas(self) -> list[str]:
        return [str(d["text"]) for n, d in self.items if n == "line.delta"]

    def text_since_reset(self) -> str:
        """The line the game shows: deltas after the last `line.reset`."""
        out: list[str] = []
        for name, data in self.items:
            if name == "line.reset":
                out = []
            elif name == "line.delta":
                out.append(str(data["text"]))
        return "".join(out)


class CountingEngine(EmbeddedEngine):
    """The real embedded engine, counting how many lines it composed for a reply."""

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


def config(fake: FakeProvider) -> str:
    return f"""
[router]
chain = ["main"]
[limits]
retries = 0
[providers.main]
kind = "openai"
base_url = "{fake.base_url}"
model = "main-model"
api_key_env = "MAIN_KEY"
keyring = false
json = "json_schema"
"""


@pytest.fixture
async def openai_fake() -> Any:
    fake = await FakeProvider("openai", key=TEST_KEY).start()
    yield fake
    await fake.stop()


async def _generate(
    draft: Draft, fake: FakeProvider, *, env: Mapping[str, str], gate: QualityGate | None = None, stream: bool = True
) -> tuple[Any, CountingEngine, Recorder]:
    engine = CountingEngine()
    recorder = Recorder()
    async with make_router(config(fake), MemoryLedger(), env=env) as router:
        step = Generate(RoutedSource(router, engine), gate or QualityGate(), engine)
        gen = await step(draft, stream=stream, emit=recorder.event)
    return gen, engine, recorder


async def test_a_provider_line_is_streamed_kept_and_nothing_is_composed(
    make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text=GOOD))
    draft = await make_draft("I'm Ana, and I love fishing. How is the work?")
    gen, engine, recorder = await _generate(draft, openai_fake, env={"MAIN_KEY": TEST_KEY})
    assert gen.text == GOOD and gen.line.provider == "main" and gen.retries == 0
    assert recorder.text_since_reset() == GOOD and not recorder.events("line.reset")
    assert engine.replies == 0, "no embedded line is composed for a turn a provider answered"
    # What is kept is what the player saw: the provider's line, and what the player said.
    assert gen.memory.said[-1] == normalize(GOOD)
    assert gen.memory.player_name == "Ana" and [p.what for p in gen.memory.likes] == ["fishing"]
    assert gen.topic == "work" and not gen.ending


async def test_a_goodbye_to_a_provider_ends_the_talk_without_composing(
    make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text="Safe travels, then. Mind the ford on your way."))
    draft = await make_draft("Goodbye, Ansel!")
    gen, engine, _ = await _generate(draft, openai_fake, env={"MAIN_KEY": TEST_KEY}, stream=False)
    assert gen.ending and gen.line.provider == "main" and engine.replies == 0


async def test_with_every_provider_down_the_embedded_line_is_composed_and_kept(
    make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    draft = await make_draft("How is the work?")
    gen, engine, recorder = await _generate(draft, openai_fake, env={})  # no key: the provider is skipped
    assert openai_fake.calls == 0 and gen.line.provider == "embedded"
    assert engine.replies == 1, "the fallback composes exactly once"
    assert gen.line.composition is not None and gen.memory == gen.line.composition.memory
    assert recorder.text_since_reset() == gen.text
    assert [e["to"] for e in recorder.events("provider.fallback")] == ["embedded"]


async def test_a_rejected_attempt_is_reset_and_the_retry_is_what_the_game_keeps(
    make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    bad = "As an AI language model, I cannot help with that."
    openai_fake.queue(Reply(text=bad), Reply(text=GOOD))
    draft = await make_draft("How is the work?")
    gen, _, recorder = await _generate(draft, openai_fake, env={"MAIN_KEY": TEST_KEY})
    assert gen.text == GOOD and gen.retries == 1 and gen.quality.score >= 60
    resets = recorder.events("line.reset")
    assert resets == [{"reason": "quality", "attempt": 1}]
    assert recorder.text_since_reset() == GOOD


async def test_when_the_best_line_is_not_the_last_streamed_it_is_streamed_again(
    make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    openai_fake.queue(Reply(text="Fine."), Reply(text="As an AI language model, I cannot help with that."))
    draft = await make_draft("How is the work?")
    gate = QualityGate(threshold=80, max_retries=1)
    gen, _, recorder = await _generate(draft, openai_fake, env={"MAIN_KEY": TEST_KEY}, gate=gate)
    assert gen.text == "Fine." and gen.retries == 1
    assert [r["attempt"] for r in recorder.events("line.reset")] == [1, 1]
    assert recorder.text_since_reset() == "Fine."


async def test_the_embedded_source_streams_in_word_groups_without_a_provider(make_draft: MakeDraft) -> None:
    engine = CountingEngine()
    draft = await make_draft("Tell me about the village.")
    recorder = Recorder()
    gen = await Generate(EmbeddedSource(engine), QualityGate(), engine)(draft, stream=True, emit=recorder.event)
    deltas = recorder.deltas()
    assert len(deltas) > 1 and "".join(deltas) == gen.text == recorder.text_since_reset()
    assert engine.replies == gen.retries + 1 and gen.line.provider == "embedded"


async def test_a_cancelled_generation_raises_cancelled(make_draft: MakeDraft) -> None:
    engine = EmbeddedEngine()
    draft = await make_draft("Hello.")
    token = CancelToken()
    token.set()
    reset = CANCEL.set(token)
    try:
        with pytest.raises(Cancelled):
            await Generate(EmbeddedSource(engine), QualityGate(), engine)(draft, stream=False, emit=Recorder().event)
    finally:
        CANCEL.reset(reset)
