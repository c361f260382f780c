"""Step 5, settle (sidecar/engine/pipeline/settle.py): NPC sentiment, arc, affinity and the goal
(heuristics, then a provider's verdict through the real router and a loopback provider)."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402
from llm_support import TEST_KEY, make_router, one_openai_provider  # noqa: E402

from sidecar.engine.arc import Arc  # noqa: E402
from sidecar.engine.embedded import EmbeddedEngine  # noqa: E402
from sidecar.engine.goals import BUILTIN_GOALS  # noqa: E402
from sidecar.engine.pipeline.draft import Draft  # noqa: E402
from sidecar.engine.pipeline.generate import Generate  # noqa: E402
from sidecar.engine.pipeline.settle import Settle, arc_step, relationship_changes  # noqa: E402
from sidecar.engine.quality import QualityGate  # noqa: E402
from sidecar.engine.routed import RoutedSource  # noqa: E402
from sidecar.engine.source import EmbeddedSource, LineSource  # noqa: E402
from sidecar.engine.turn import Dialogue  # noqa: E402
from sidecar.llm.costs import MemoryLedger  # noqa: E402

MakeDraft = Callable[..., Awaitable[Draft]]
ENGINE = EmbeddedEngine()
EMBEDDED = EmbeddedSource(ENGINE)
LINE = "My father taught me at this very anvil, and I still miss him."


async def _quiet(name: str, data: object) -> None:
    return None


async def generated(draft: Draft, source: LineSource = EMBEDDED) -> Draft:
    draft.generation = await Generate(source, QualityGate(), ENGINE)(draft, stream=False, emit=_quiet)
    return draft


@pytest.mark.parametrize(
    ("text", "sign", "reason"),
    [("You are a wonderful smith, thank you so much!", 1, "friendly"), ("You are a useless, stupid oaf.", -1, "rude")],
)
async def test_the_players_tone_moves_affinity(make_draft: MakeDraft, text: str, sign: int, reason: str) -> None:
    draft = await generated(await make_draft(text))
    settled = await Settle(EMBEDDED)(draft)
    assert settled.change.delta * sign > 0 and reason in settled.change.reason
    assert settled.goal is None and settled.goal_write is None and settled.goal_events == ()
    assert settled.npc_sentiment.label in {"positive", "negative", "neutral"}


async def test_a_topic_the_npc_enjoys_adds_to_the_turn_delta(make_draft: MakeDraft) -> None:
    draft = await generated(await make_draft("Tell me about the forge and your work."))
    assert draft.generation.topic == "work"
    changes = relationship_changes(draft, arc_step(draft))
    assert changes[0].reason.endswith("talked about something they enjoy")


async def test_the_arc_reads_the_players_lines_not_the_npcs(dialogue: Dialogue, make_draft: MakeDraft) -> None:
    started = await dialogue.start("ansel", "p1", seed=2)
    for insult in ("You are a useless, stupid oaf.", "I hate you and your ugly forge.", "Shut up, you worthless fool."):
        await dialogue.say(started.conversation, insult)
    draft = await generated(await make_draft("You disgust me, idiot.", conversation=started.conversation))
    step = arc_step(draft)
    assert step.arc is not Arc.RECONCILIATION and step.arc is not Arc.BONDING
    assert (await Settle(EMBEDDED)(draft)).change.delta < 0


async def test_the_goal_heuristics_decide_without_a_verdict(dialogue: Dialogue, make_draft: MakeDraft) -> None:
    started = await dialogue.start("ansel", "p1", seed=2)
    await dialogue.set_goal(started.conversation, "build_trust")
    draft = await make_draft("Tell me about your family.", conversation=started.conversation)
    draft = await generated(draft)
    settled = await Settle(EMBEDDED)(draft)
    assert settled.goal is not None and settled.goal.id == "build_trust" and settled.goal_write is not None
    assert settled.goal_write.progress == settled.goal.progress
    progressed = [d for n, d in settled.goal_events if n == "goal_progressed"]
    assert bool(progressed) == (settled.goal.progress > 0)


async def test_a_providers_verdict_completes_the_goal_and_pays_the_reward_once(
    dialogue: Dialogue, make_draft: MakeDraft, openai_fake: FakeProvider
) -> None:
    started = await dialogue.start("ansel", "p1", seed=2)
    await dialogue.set_goal(started.conversation, "build_trust")
    verdict = json.dumps({"progress": 1.0, "completed": True, "reason": "he spoke of his father"})
    openai_fake.queue(Reply(text=LINE), Reply(text=verdict))
    routes = one_openai_provider(openai_fake.base_url)
    async with make_router(routes, MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        source = RoutedSource(router, ENGINE)
        draft = await make_draft("Tell me about your family.", conversation=started.conversation)
        draft = await generated(draft, source)
        settled = await Settle(source)(draft)
    assert draft.generation.text == LINE
    assert settled.goal is not None and settled.goal.completed and settled.goal.reason == "he spoke of his father"
    assert settled.goal_write is not None and settled.goal_write.rewarded
    assert [n for n, _ in settled.goal_events] == ["goal_progressed", "goal_completed"]
    assert "goal build_trust completed" in settled.change.reason
    judged = openai_fake.received[-1].body
    assert judged["temperature"] == 0.0 and "<transcript>" in judged["messages"][-1]["content"]


async def test_the_embedded_source_has_no_verdict(make_draft: MakeDraft) -> None:
    draft = await generated(await make_draft("Hello."))
    assert await EMBEDDED.judge(draft.turn, draft.generation.line, BUILTIN_GOALS["build_trust"], []) is None
