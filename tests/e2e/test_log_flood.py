"""A flood of bad frames from an authenticated peer cannot grow the logs without limit: repeats
are summarised (file and stderr alike) and the log file rotates under its cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import zmq.asyncio

from parley_client import Client, Sidecar
from sidecar.server.logs import LogLimits

REPO = Path(__file__).resolve().parents[2]
PERSONAS = REPO / "personas"
DROPPED = "dropped an unreadable frame"
DEFAULT_BURST = LogLimits().burst  # the flood test runs the shipped defaults
FLOOD = 5000


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def _flood(sidecar: Sidecar, zctx: zmq.asyncio.Context, frames: int) -> None:
    """`frames` unreadable frames, then a request: its reply means every frame before it on
    this connection has been handled (one connection is read in order)."""
    async with Client(sidecar.endpoint, sidecar.token, context=zctx) as c:
        for i in range(frames):
            await c.send_raw(bytes([0xC1]) * (i % 5 + 1))
        info = await c.call("server.info", timeout=60)
        assert info["protocol"] == 1
        persona = (await c.call("persona.list"))["personas"][0]["id"]
        start = await c.call("conversation.start", {"persona": persona, "player": "ana", "seed": 1})
        turn = await c.call("conversation.say", {"conversation": start["conversation"], "text": "Hello there."})
        assert turn["line"]["text"]


async def test_flood_of_unreadable_frames_is_summarised_in_file_and_stderr(
    data_dir: Path, zctx: zmq.asyncio.Context
) -> None:
    sidecar = Sidecar(data_dir, PERSONAS).start()
    try:
        await _flood(sidecar, zctx, FLOOD)
    finally:
        assert sidecar.stop() == 0  # a clean exit writes the pending summary
    log_file = data_dir / "logs" / "sidecar.log"

    lines = _json_lines(log_file)
    passed = [ln for ln in lines if ln["msg"] == DROPPED]
    summaries = [ln for ln in lines if ln.get("like") == DROPPED]
    assert summaries, "no summary line for the suppressed warnings"
    assert all("similar warnings suppressed in the last" in s["msg"] for s in summaries)
    # Every dropped frame is accounted for: written, or counted in a summary.
    assert len(passed) + sum(s["suppressed"] for s in summaries) == FLOOD
    # At most `burst` lines per window; each window that suppressed anything wrote a summary.
    assert len(passed) <= DEFAULT_BURST * (len(summaries) + 1)
    assert log_file.stat().st_size < 16 * 1024

    err = sidecar.stderr_text().splitlines()
    err_summaries = [ln for ln in err if "similar warnings suppressed" in ln and ln.endswith(DROPPED)]
    err_passed = [ln for ln in err if ln.endswith(f"dispatch: {DROPPED}")]
    assert err_summaries
    suppressed = sum(int(ln.split(": ", 1)[1].split(" ", 1)[0]) for ln in err_summaries)
    assert len(err_passed) + suppressed == FLOOD
    assert len(sidecar.stderr_text().encode()) < 8 * 1024


async def test_log_file_rotates_and_stays_under_its_cap(data_dir: Path, zctx: zmq.asyncio.Context) -> None:
    max_bytes, backups = 4096, 2
    args = ["--log-max-bytes", str(max_bytes), "--log-backups", str(backups), "--log-burst", "1000000"]
    sidecar = Sidecar(data_dir, PERSONAS, extra_args=args).start()
    try:
        await _flood(sidecar, zctx, 2000)  # ~150 bytes a line: far past the cap
    finally:
        assert sidecar.stop() == 0
    logs = data_dir / "logs"
    files = sorted(p.name for p in logs.iterdir())
    assert files == ["sidecar.log", "sidecar.log.1", "sidecar.log.2"]
    longest = max(len(ln.encode()) + 1 for p in logs.iterdir() for ln in p.read_text(encoding="utf-8").splitlines())
    for p in logs.iterdir():
        assert p.stat().st_size <= max_bytes + longest
        _json_lines(p)  # rotation never splits a line
    assert sum(p.stat().st_size for p in logs.iterdir()) <= (backups + 1) * max_bytes + longest
    # The newest lines are kept: the clean stop is the last line of the current file.
    assert _json_lines(logs / "sidecar.log")[-1]["msg"] == "stopped"
