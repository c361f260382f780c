"""The budgeted prompt assembly (sidecar/llm/budget.py, prompt.build_request) and where the
budgets come from (presets, config, the chain)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llm_support import spec_for

from sidecar.engine.personality import tune
from sidecar.engine.tokens import ESTIMATE, MIN_CONTEXT_BUDGET, ContextBudget, TokenCounter
from sidecar.errors import ConfigError
from sidecar.llm import ChatRequest, build_request, parse_config, resolve
from sidecar.llm.budget import MIN_RECENT, SUMMARY_HEADING, BudgetTooSmall, chain_budget, counter_for, request_tokens
from sidecar.llm.presets import load_presets
from sidecar.personas.loader import load_personas

PERSONAS = load_personas(Path(__file__).resolve().parents[2] / "personas").personas
ANSEL = PERSONAS["ansel"]
TUNING = tune(ANSEL, 50)


@dataclass(frozen=True)
class L:
    speaker: str
    text: str


class WordCounter:
    """A counter unlike the estimate: words, with a long word split every 3 letters, and a
    join of two texts can count differently from its parts (like a real BPE)."""

    name = "words"

    def count(self, text: str) -> int:
        return sum(math.ceil(len(w) / 3) for w in text.split())


def _request(
    budget: ContextBudget | None,
    *,
    history: list[L],
    memories: list[str],
    summary: str | None = None,
    player_line: str = "Tell me more.",
    hints: tuple[str, ...] = (),
) -> ChatRequest:
    return build_request(
        ANSEL,
        player="p1",
        affinity=50,
        tuning=TUNING,
        history=history,
        memories=memories,
        summary=summary,
        player_line=player_line,
        hints=hints,
        budget=budget,
    )


def lines_of(n: int, words: int = 12) -> list[L]:
    return [L("player" if i % 2 else "ansel", f"line {i} " + " ".join(["hammer"] * words)) for i in range(n)]


text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=400)
speaker = st.sampled_from(["player", "ansel", "goldie"])
conversation = st.lists(st.builds(L, speaker, text), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=conversation,
    memories=st.lists(text, max_size=12),
    summary=st.one_of(st.none(), st.text(min_size=1, max_size=3000)),
    hints=st.lists(text, max_size=3),
    player_line=text,
    tokens=st.integers(MIN_CONTEXT_BUDGET, 4096),
    counter=st.sampled_from([ESTIMATE, WordCounter()]),
)
def test_the_assembled_prompt_never_exceeds_the_budget(
    history: list[L],
    memories: list[str],
    summary: str | None,
    hints: list[str],
    player_line: str,
    tokens: int,
    counter: TokenCounter,
) -> None:
    budget = ContextBudget(tokens, counter)
    req = build_request(
        ANSEL,
        player="p1",
        affinity=50,
        tuning=TUNING,
        history=history,
        memories=memories,
        summary=summary,
        player_line=player_line,
        hints=hints,
        budget=budget,
    )
    assert request_tokens(req, counter) + req.max_tokens <= tokens
    assert req.messages and req.messages[-1].role == "user"
    assert "Reply with Ansel's next line only" in req.system  # the reply rules are never cut


def test_what_fits_is_sent_whole() -> None:
    history = lines_of(6)
    free = _request(None, history=history, memories=["The player's name is Mira."], summary="They met at dawn.")
    budgeted = _request(
        ContextBudget(8192), history=history, memories=["The player's name is Mira."], summary="They met at dawn."
    )
    assert budgeted == free
    assert SUMMARY_HEADING in budgeted.system and "They met at dawn." in budgeted.system


def test_the_drop_order_old_lines_then_memories_then_the_summary() -> None:
    history = lines_of(16)
    memories = [f"Memory number {i} about the forge and the mill." for i in range(6)]
    summary = "They spoke of kumquats. Ansel showed a zircon. The player's name is Mira."
    full = _request(None, history=history, memories=memories, summary=summary)
    size = request_tokens(full, ESTIMATE) + full.max_tokens
    # A little short: only old lines go, down to MIN_RECENT; memories and summary stay.
    a = _request(ContextBudget(size - 40), history=history, memories=memories, summary=summary)
    assert all(m in a.system for m in memories) and summary in a.system
    assert len(a.messages) < len(full.messages)
    # Much shorter: MIN_RECENT lines are left, memories go lowest-ranked first, the summary
    # loses its oldest sentences, and the player's line is there to the end.
    for cut in range(40, size - 200, 25):
        r = _request(ContextBudget(size - cut), history=history, memories=memories, summary=summary)
        kept = [m for m in memories if m in r.system]
        assert kept == memories[: len(kept)], "memories go from the lowest-ranked"
        if 0 < len(kept) < len(memories) or (not kept and "Mira" in r.system):
            assert len(r.messages) >= MIN_RECENT, "recent lines down to MIN_RECENT go before memories"
        if "kumquats" not in r.system:
            assert not kept, "the summary is trimmed only once the memories are gone"
        if "Mira" not in r.system and kept == []:
            assert "zircon" not in r.system, "the summary's last sentence (its facts) goes last"
        assert r.messages[-1].content == "Tell me more."


def test_the_reply_takes_at_most_half_of_a_small_budget() -> None:
    big = replace(TUNING, max_tokens=1024)
    req = build_request(ANSEL, player="p1", affinity=50, tuning=big, history=lines_of(30), budget=ContextBudget(512))
    assert req.max_tokens == 256 and request_tokens(req, ESTIMATE) + req.max_tokens <= 512
    assert build_request(ANSEL, player="p1", affinity=50, tuning=big, history=[]).max_tokens == 1024


def test_a_budget_too_small_for_the_rules_is_a_clear_error() -> None:
    with pytest.raises(BudgetTooSmall):
        _request(ContextBudget(40), history=[], memories=[])


def test_presets_and_config_give_each_provider_a_budget() -> None:
    presets = load_presets()
    assert all(p.context_budget >= MIN_CONTEXT_BUDGET for p in presets.values())
    assert presets["ollama"].context_budget == 2048  # ollama's default num_ctx
    settings = resolve(
        parse_config(
            '[router]\nchain = ["a", "b"]\n[providers.a]\npreset = "groq"\nkeyring = false\n'
            '[providers.b]\npreset = "ollama"\ncontext_budget = 1024\n'
        ),
        env={"GROQ_API_KEY": "k"},
        keys=lambda name: None,
    )
    a, b = settings.chain[:2]
    assert a.context_budget == presets["groq"].context_budget and b.context_budget == 1024
    assert chain_budget(settings.chain).tokens == 1024, "the smallest in the chain: any fallback fits"
    assert chain_budget(settings.chain).counter is ESTIMATE
    with pytest.raises(ConfigError, match="context_budget"):
        parse_config('[router]\nchain = ["a"]\n[providers.a]\npreset = "ollama"\ncontext_budget = 10\n')


def test_a_tokenizer_that_cannot_be_loaded_falls_back_to_the_estimate(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"not a gguf file")
    assert counter_for(str(bogus)) is ESTIMATE
    assert counter_for(None) is ESTIMATE
    spec = spec_for("http://127.0.0.1:1", tokenizer=str(bogus), context_budget=3000)
    assert chain_budget((spec,)) == ContextBudget(3000, ESTIMATE)


async def test_the_tools_offered_with_a_line_are_inside_the_budget() -> None:
    from sidecar.engine.embedded import EmbeddedEngine
    from sidecar.engine.routed import RoutedSource
    from sidecar.engine.sentiment import analyze
    from sidecar.engine.source import TurnInput
    from sidecar.engine.types import Line, TurnContext
    from sidecar.llm.costs import MemoryLedger
    from sidecar.llm.router import Router

    assert ANSEL.actions, "the sample blacksmith declares actions"
    budget = 1100
    toml = (
        '[router]\nchain = ["main"]\n[providers.main]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        f'model = "m"\napi_key_env = "MAIN_KEY"\nkeyring = false\ncontext_budget = {budget}\n'
    )
    settings = resolve(parse_config(toml), env={"MAIN_KEY": "k"}, keys=lambda name: None)
    history = tuple(Line("player" if i % 2 else "ansel", f"Line {i} about the forge and the mill.") for i in range(30))
    ctx = TurnContext(persona=ANSEL, player="Ana", affinity=50, seed=1, turn=15, history=history)
    text = "Could you fix my sword?"
    turn = TurnInput(ctx=ctx, player_text=text, sentiment=analyze(text), tuning=TUNING, actions=ANSEL.actions)
    async with Router.from_settings(settings, MemoryLedger()) as router:
        source = RoutedSource(router, EmbeddedEngine())
        with_tools = source.request(turn, with_options=True)
        without = source.request(replace(turn, actions={}), with_options=True)
    assert with_tools.tools and not without.tools
    assert request_tokens(with_tools, ESTIMATE) + with_tools.max_tokens <= budget
    assert request_tokens(without, ESTIMATE) + without.max_tokens <= budget
    assert len(with_tools.messages) < len(without.messages), "the tools' room came from the oldest lines"
