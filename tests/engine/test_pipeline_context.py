"""Step 2b, context (sidecar/engine/pipeline/context.py): long conversations folded into a
rolling summary under the context budget, on a real SQLite store, with the embedded engine
and with the provider chain against a loopback OpenAI-format server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_fakes import FakeProvider, Reply
from llm_support import TEST_KEY, make_router

from sidecar.engine.pipeline.context import FOLD_LINES, KEEP_LINES, Context, heard
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.summary import Fact, holds
from sidecar.engine.tokens import ESTIMATE, MESSAGE_FRAMING
from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.llm.budget import SUMMARY_HEADING, tools_tokens
from sidecar.llm.costs import MemoryLedger
from sidecar.llm.tools import ToolDef
from sidecar.store.db import MessageRow, Store
from sidecar.store.memory import MemoryStore
from sidecar.store.summaries import SummaryRow, SummaryStore
from sidecar.wiring import dialogue as wire_dialogue

OPENING = "Hello Ansel! My name is Mira and I love fishing at the old mill."
TOPICS = [
    "How is the work at the forge today?",
    "What do you think of the weather this week?",
    "Do you know Goldie at the inn well?",
    "Tell me about the river and the ford.",
    "What are you making with that iron?",
    "Have you heard any news from the mill?",
    "Which tools do you like making best?",
    "Is the market busy on Thursdays?",
]
NAME = "The player's name is Mira."
FISHING = "The player said: I love fishing at the old mill."


async def talk(d: Dialogue, turns: int) -> str:
    started = await d.start("ansel", "p1", seed=5)
    await d.say(started.conversation, OPENING)
    for i in range(turns - 1):
        await d.say(started.conversation, f"{TOPICS[i % len(TOPICS)]} (Question {i}.)")
    return started.conversation


def check_rolls(history: Sequence[SummaryRow], lines: int) -> None:
    """Each summary covers from the first line to a later one than the one before, and the
    lines after the newest fit a prompt."""
    assert history, "a long talk is folded"
    assert all(s.from_seq == 0 for s in history)
    ends = [s.to_seq for s in history]
    assert ends == sorted(set(ends))
    assert lines - 1 - ends[-1] <= FOLD_LINES


async def test_a_long_embedded_talk_rolls_its_summary_and_keeps_the_facts(
    store: Store, registry: PersonaRegistry
) -> None:
    d = Dialogue(store, registry)  # the embedded engine: the extractive summariser
    cid = await talk(d, 40)
    history = await SummaryStore(store).history(cid, "ansel")
    lines = len(await store.lines(cid))
    check_rolls(history, lines)
    assert all(s.method == "extractive" for s in history)
    assert 4 <= len(history) <= 40 // 2, "a fold leaves room for several turns"
    for s in history:
        assert holds(s.text, NAME) and holds(s.text, FISHING), s.text
        assert NAME in s.facts and FISHING in s.facts
    assert "Mira" in history[-1].text and "fishing" in history[-1].text


async def test_the_context_step_folds_down_to_the_keep_window(store: Store, registry: PersonaRegistry) -> None:
    d = Dialogue(store, registry)
    cid = await talk(d, 8)  # 17 lines: the last turn saw 15 + its own line, not more than a prompt takes
    assert len(await store.lines(cid)) == 17 and await SummaryStore(store).latest(cid, "ansel") is None
    await d.say(cid, "And what about the old bridge?")  # 17 + 1 > FOLD_LINES: folded
    latest = await SummaryStore(store).latest(cid, "ansel")
    assert latest is not None
    after = (await SummaryStore(store).window(cid, "ansel")).lines
    assert len(after) - 2 < KEEP_LINES, "the fold left at most KEEP_LINES before the turn's own two lines"
    assert heard(registry.get("ansel"), after) == after


def chain(fake: FakeProvider, budget: int) -> str:
    return (
        f'[router]\nchain = ["main"]\n[limits]\nretries = 0\n[providers.main]\nkind = "openai"\n'
        f'base_url = "{fake.base_url}"\nmodel = "m"\napi_key_env = "MAIN_KEY"\nkeyring = false\n'
        f'json = "json_schema"\ncontext_budget = {budget}\noptions_in_line = false\n'
    )


def prompt_tokens(body: dict[str, Any]) -> int:
    """What the budget counts of a request as sent: messages (the system prompt is the first)
    and the tools offered, with framing."""
    messages = body["messages"]
    tools = [
        ToolDef(t["function"]["name"], t["function"]["description"], t["function"]["parameters"])
        for t in body.get("tools", [])
    ]
    return (
        sum(ESTIMATE.count(str(m["content"])) for m in messages)
        + MESSAGE_FRAMING * len(messages)
        + tools_tokens(tools, ESTIMATE)
    )


async def test_with_a_provider_every_prompt_is_under_the_budget_and_carries_the_summary(
    store: Store, registry: PersonaRegistry, openai_fake: FakeProvider
) -> None:
    budget = 1700  # Ansel offers three tools (repair, sell, errand): ~100 tokens of them
    openai_fake.queue(
        *(Reply(text=f"Aye, that is a fair question, number {i}. The forge keeps me busy.") for i in range(200))
    )
    async with make_router(chain(openai_fake, budget), MemoryLedger(), env={"MAIN_KEY": TEST_KEY}) as router:
        d = wire_dialogue(store, registry, router, None)
        assert isinstance(d.context, Context)
        cid = await talk(d, 30)
    lines = [r.body for r in openai_fake.received if "Reply with Ansel's next line only" in str(r.body["messages"][0])]
    summaries = [r.body for r in openai_fake.received if "running summary" in str(r.body["messages"][0])]
    assert lines and summaries
    for body in lines:
        assert prompt_tokens(body) + int(str(body["max_tokens"])) <= budget
    history = await SummaryStore(store).history(cid, "ansel")
    check_rolls(history, len(await store.lines(cid)))
    assert all(s.method == "llm" for s in history), "the provider wrote every summary"
    assert all(holds(s.text, NAME) and holds(s.text, FISHING) for s in history), "the facts it lost were given back"
    last = lines[-1]["messages"]
    assert isinstance(last, list)
    system = str(last[0]["content"])
    assert SUMMARY_HEADING in system and history[-1].text.split(". ")[0] in system
    # The prompt's lines are those after the summary: the opening line is not repeated.
    assert not any(OPENING in str(m["content"]) for m in last[1:])


async def test_a_fact_a_memory_holds_survives_every_later_fold(store: Store, registry: PersonaRegistry) -> None:
    """The facts hook stands for long-term memory: a fact no line says word for word (a
    game event) is kept by the first fold that covers its line, and by every fold after."""
    saved = "The player saved the mill from the flood."
    asked: list[tuple[int, int]] = []

    async def memories(draft: Draft, rows: Sequence[MessageRow]) -> list[Fact]:
        asked.append((rows[0].seq, rows[-1].seq))
        return [Fact(saved, 3)] if any(r.seq == 3 for r in rows) else []

    d = Dialogue(store, registry, context=Context(store, facts=memories))
    cid = await talk(d, 30)
    history = await SummaryStore(store).history(cid, "ansel")
    assert len(history) >= 3 and asked[0][0] == 0
    assert [b for a, b in asked] == [s.to_seq for s in history], "asked once per fold, for the folded lines"
    assert all(holds(s.text, saved) and saved in s.facts for s in history)


async def test_by_default_the_facts_to_keep_are_the_speakers_memories_of_the_folded_lines(
    store: Store, registry: PersonaRegistry
) -> None:
    """No hook given: the Dialogue's context step asks long-term memory (store/memory.py)
    which memories came from the lines being folded, and every summary holds them."""
    d = Dialogue(store, registry)
    cid = await talk(d, 40)
    history = await SummaryStore(store).history(cid, "ansel")
    assert history
    mems = await MemoryStore(store).for_pair("p1", "ansel")
    sourced = [m for m in mems if m.source is not None and m.source.conversation == cid]
    assert {m.kind for m in sourced} >= {"name", "like"}
    for s in history:
        covered = [m for m in sourced if s.from_seq <= m.source.seq <= s.to_seq]  # type: ignore[union-attr]
        assert covered
        for m in covered:
            assert m.text in s.facts and holds(s.text, m.text), (m.text, s.text)
