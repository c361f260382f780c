"""The repeat limiter, driven by a hand-moved clock (no sleeping), over a real handler."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.server.logs import (
    MAX_KEYS,
    JsonFormatter,
    LogLimits,
    RateLimitedHandler,
    RepeatLimiter,
    log_limits,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Sink:
    """A logger whose records go through a RateLimitedHandler into JSON lines in memory."""

    def __init__(self, clock: Clock, burst: int = 3, interval_s: float = 10.0) -> None:
        self.buf = io.StringIO()
        target = logging.StreamHandler(self.buf)
        target.setFormatter(JsonFormatter())
        self.handler = RateLimitedHandler(target, RepeatLimiter(burst, interval_s, clock))
        self.log = logging.getLogger(f"test.logs.{id(self)}")
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)
        self.log.addHandler(self.handler)

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(ln) for ln in self.buf.getvalue().splitlines()]

    def close(self) -> None:
        self.log.removeHandler(self.handler)
        self.handler.close()


@pytest.fixture
def sink(clock: Clock) -> Iterator[Sink]:
    s = Sink(clock)
    yield s
    s.close()


def test_first_lines_pass_then_one_summary_when_the_window_ends(sink: Sink, clock: Clock) -> None:
    for i in range(100):
        sink.log.warning("dropped a frame", extra={"bytes": i})
        clock.now += 0.01
    assert [ln["bytes"] for ln in sink.lines()] == [0, 1, 2]
    clock.now += 10
    sink.log.warning("dropped a frame", extra={"bytes": 100})
    lines = sink.lines()
    summary = lines[3]
    assert summary["msg"] == "97 similar warnings suppressed in the last 11.0s: dropped a frame"
    assert (summary["level"], summary["suppressed"], summary["like"]) == ("warning", 97, "dropped a frame")
    assert lines[4]["bytes"] == 100  # a new window: the line after the summary passes again
    assert len(lines) == 5


def test_a_quiet_window_writes_no_summary(sink: Sink, clock: Clock) -> None:
    for _ in range(3):
        sink.log.warning("rare")
    clock.now += 60
    sink.log.warning("rare")
    assert [ln["msg"] for ln in sink.lines()] == ["rare"] * 4


def test_another_message_ends_a_window_too(sink: Sink, clock: Clock) -> None:
    for _ in range(5):
        sink.log.warning("noisy")
    clock.now += 10
    sink.log.info("something else")
    assert [ln["msg"] for ln in sink.lines()] == [
        "noisy",
        "noisy",
        "noisy",
        "2 similar warnings suppressed in the last 10.0s: noisy",
        "something else",
    ]


def test_close_writes_the_pending_summaries(clock: Clock) -> None:
    sink = Sink(clock)
    for _ in range(7):
        sink.log.error("internal error", extra={"op": "conversation.say"})
    clock.now += 2.5
    sink.close()
    last = sink.lines()[-1]
    assert last["msg"] == "4 similar errors suppressed in the last 2.5s: internal error"
    assert last["level"] == "error"


def test_keys_are_template_level_and_key_fields_not_arguments(sink: Sink) -> None:
    for i in range(5):
        sink.log.warning("persona problem: %s", f"file{i}.toml")  # one template: one budget
        sink.log.info("request failed", extra={"code": "bad_request", "req_id": i})
        sink.log.info("request failed", extra={"code": "conversation_not_found", "req_id": i})
        sink.log.error("persona problem: %s", "x")  # another level: its own budget
    msgs = [(ln["level"], ln["msg"], ln.get("code")) for ln in sink.lines()]
    assert sum(1 for lvl, m, _ in msgs if lvl == "warning" and m.startswith("persona problem")) == 3
    assert sum(1 for _, m, c in msgs if m == "request failed" and c == "bad_request") == 3
    assert sum(1 for _, m, c in msgs if m == "request failed" and c == "conversation_not_found") == 3
    assert sum(1 for lvl, _, _ in msgs if lvl == "error") == 3


def test_the_summary_never_carries_a_records_arguments(clock: Clock) -> None:
    sink = Sink(clock, burst=1)
    sink.log.warning("player said %s", "my secret line")
    sink.log.warning("player said %s", "another secret")
    sink.close()
    summary = sink.lines()[-1]
    assert summary["msg"] == "1 similar warnings suppressed in the last 0.0s: player said %s"
    assert "secret" not in json.dumps(summary)


def test_keys_are_bounded(clock: Clock) -> None:
    limiter = RepeatLimiter(1, 10.0, clock)
    for i in range(MAX_KEYS + 50):
        rec = logging.makeLogRecord({"name": "x", "levelno": logging.INFO, "msg": "m", "code": str(i)})
        limiter.check(rec)
    # Past MAX_KEYS the field is dropped from the key: the rest share one budget.
    assert len(limiter._windows) == MAX_KEYS + 1  # noqa: SLF001


def test_limits_must_be_positive() -> None:
    assert log_limits() == LogLimits()
    assert log_limits(burst=2).burst == 2
    for bad in ({"burst": 0}, {"interval_s": 0.0}, {"max_bytes": 0}, {"backups": 0}):
        with pytest.raises(ValueError, match="positive"):
            log_limits(**bad)  # type: ignore[arg-type]


def test_serve_refuses_a_bad_limit_before_starting(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(tmp_path), "--log-burst", "0", "--no-auth"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert "config_error" in out.stderr and "positive" in out.stderr
    assert not (tmp_path / "parley.sqlite3").exists()

