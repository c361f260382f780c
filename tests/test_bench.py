"""`parley bench`'s LLM-path measurement really goes through a provider: a real sidecar
subprocess with a config pointing at `sidecar.bench_provider` (its own process on loopback),
driven over ZeroMQ by the reference client. Speed is never asserted; only that the figure is
a measurement of the path it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.bench import _llm_cpu, varied_lines

PERSONAS = Path(__file__).resolve().parents[1] / "personas"


async def test_the_llm_figure_is_measured_on_lines_from_the_loopback_provider() -> None:
    report = await _llm_cpu(PERSONAS, 5)
    assert report["providers"] == ["bench", "embedded"]
    assert report["answered_by"] == "bench"
    assert report["quality_retries"] == 0  # one line call per turn: the work per turn is fixed
    assert report["turns"] == 5 and report["cpu_ms_per_turn"] > 0


def test_the_varied_lines_never_repeat_within_a_run() -> None:
    lines = varied_lines(2000)
    assert len(lines) == 2000 and len(set(lines)) == 2000
    assert varied_lines(2000) == lines  # the same run every time: A/B comparable
    with pytest.raises(ValueError):
        varied_lines(64 * 64)
