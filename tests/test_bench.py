"""`parley bench`'s LLM-path measurement really goes through a provider: a real sidecar
subprocess with a config pointing at `sidecar.bench_provider` (its own process on loopback),
driven over ZeroMQ by the reference client. Speed is never asserted; only that the figure is
a measurement of the path it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar.bench import _llm_cpu, varied_lines

PERSONAS = Path(__file__).resolve().parents[1] / "personas"


async def test_the_llm_figure_is_measured_on_lines_from_the_loopback_provider() -> None:
    # Enough turns that their CPU time is many of psutil's 10 ms clock ticks: 5 turns read
    # 0.0 ms once on a fresh clone.
    report = await _llm_cpu(PERSONAS, 40)
    assert report["providers"] == ["bench", "embedded"]
    assert report["answered_by"] == "bench"
    assert report["quality_retries"] == 0  # one line call per turn: the work per turn is fixed
    assert report["turns"] == 40 and report["cpu_ms_per_turn"] > 0


def test_the_varied_lines_never_repeat_within_a_run() -> None:
    lines = varied_lines(2000)
    assert len(lines) == 2000 and len(set(lines)) == 2000
    assert varied_lines(2000) == lines  # the same run every time: A/B comparable
    with pytest.raises(ValueError):
        varied_lines(64 * 64)


def test_the_loopback_provider_answers_like_a_model_not_a_recording() -> None:
    """Each reply is a new line with new options (a fixed reply would be a repeat every turn,
    and its options stale after one turn, so the turn would compose embedded ones instead)."""
    from sidecar.bench_provider import completion

    def content(n: int, body: dict[str, object]) -> str:
        return str(completion(body, n)["choices"][0]["message"]["content"])

    lines = [content(n, {"messages": [{"role": "user", "content": "hi"}]}) for n in range(144)]
    assert len(set(lines)) == 144
    offered = [json.loads(content(n, {"response_format": {"type": "json_object"}}))["options"] for n in range(12)]
    for n, options in enumerate(offered):
        assert [o["intent"] for o in options] == ["ask", "share", "leave"]
        recent = {o["text"] for earlier in offered[max(0, n - 3) : n] for o in earlier}
        assert not recent & {o["text"] for o in options}


def test_the_loopback_provider_writes_the_memory_line_when_asked() -> None:
    """The LLM-path figure includes reading a memorable turn's memories from the line, as a
    model following the instruction would write them."""
    from sidecar.bench_provider import completion
    from sidecar.engine import inline_options, remember

    def content(n: int, system: str) -> str:
        body = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]}
        return str(completion(body, n)["choices"][0]["message"]["content"])

    asked = f"You are Ansel. {inline_options.instruction('Ansel', memories=True)}"
    found = [inline_options.memories(content(n, asked).split("\n", 1)[1]) for n in range(4)]
    assert [len(m) if m is not None else None for m in found] == [0, 1, 0, 1]
    assert "memory:" not in content(1, f"You are Ansel. {inline_options.instruction('Ansel')}")
    schema = {"type": "json_schema", "json_schema": {"name": "reply", "schema": remember.EXTRACTION_SCHEMA}}
    extracted = completion({"messages": [{"role": "user", "content": "x"}], "response_format": schema}, 1)
    assert remember.parse_extraction(extracted["choices"][0]["message"]["content"]) is not None
