"""Shared fixtures: a real sidecar subprocess on 127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import zmq.asyncio

from parley_client import Client, Sidecar
from sidecar.store.db import Store

REPO = Path(__file__).resolve().parent.parent
PERSONAS = REPO / "personas"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def sidecar(data_dir: Path) -> Iterator[Sidecar]:
    proc = Sidecar(data_dir, PERSONAS).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def zctx() -> AsyncIterator[zmq.asyncio.Context]:
    ctx = zmq.asyncio.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
async def client(sidecar: Sidecar, zctx: zmq.asyncio.Context) -> AsyncIterator[Client]:
    async with Client(sidecar.endpoint, sidecar.token, context=zctx) as c:
        yield c


def probe_godot_features(godot: str, tmp_path: Path) -> dict[str, bool]:
    """Asks a Godot binary itself what it is: an editor build or an export template."""
    probe = tmp_path / "probe"
    probe.mkdir(parents=True)
    (probe / "project.godot").write_text("config_version=5\n", encoding="utf-8")
    (probe / "probe.gd").write_text(
        "extends SceneTree\n\n\nfunc _initialize() -> void:\n"
        '\tprint("PROBE ", JSON.stringify({"editor": OS.has_feature("editor"), '
        '"template": OS.has_feature("template")}))\n\tquit()\n',
        encoding="utf-8",
    )
    out = subprocess.run(
        [godot, "--headless", "--path", str(probe), "--script", "res://probe.gd"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("PROBE ")), None)
    assert line is not None, f"{godot} did not run a script:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    features: dict[str, bool] = json.loads(line.removeprefix("PROBE "))
    return features


@pytest.fixture
def godot_features() -> Callable[[str, Path], dict[str, bool]]:
    """`probe_godot_features`, for the tests that need a Godot editor or template."""
    return probe_godot_features


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real store file in the test's own folder, without the checkpoint thread (the tests
    that need checkpoints open their own)."""
    s = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    try:
        yield s
    finally:
        await s.close()
