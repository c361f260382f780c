"""Start, auth, crash, restart, parent death: the sidecar as the game will run it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

from parley_client import Client, RequestTimeout, Sidecar, SidecarFailed

PERSONAS = Path(__file__).resolve().parents[2] / "personas"


HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_DISCONNECTED
)


def _watch_handshake(sock: zmq.asyncio.Socket) -> zmq.asyncio.Socket:
    """A monitor on `sock`, made before connecting so the verdict cannot be missed."""
    return sock.get_monitor_socket(HANDSHAKE_EVENTS)


async def _verdict(sock: zmq.asyncio.Socket, monitor: zmq.asyncio.Socket) -> list[int]:
    """Handshake events up to the first decisive one (success, or a failure/disconnect)."""
    seen: list[int] = []
    try:
        async with asyncio.timeout(30):
            while True:
                frames = await monitor.recv_multipart()
                seen.append(int.from_bytes(frames[0][:2], "little"))
                if seen[-1] in (zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH):
                    return seen
    except TimeoutError:
        return seen
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)


async def test_wrong_password_gets_nothing_through(sidecar: Sidecar, client: Client, zctx: zmq.asyncio.Context) -> None:
    before = await client.call("server.info")
    intruder = Client(sidecar.endpoint, "not-the-token", context=zctx, timeout=1.0)
    monitor = _watch_handshake(intruder._sock)  # noqa: SLF001
    intruder.connect()
    try:
        seen = await _verdict(intruder._sock, monitor)  # noqa: SLF001
        assert seen and zmq.EVENT_HANDSHAKE_SUCCEEDED not in seen, seen
        with pytest.raises(RequestTimeout):
            await intruder.call("conversation.start", {"persona": "x", "player": "y"})
    finally:
        await intruder.close()
    after = await client.call("server.info")
    # Only the good client's own server.info requests reached the dispatcher.
    assert after["counts"]["requests"] == before["counts"]["requests"] + 1
    assert after["counts"]["conversations"] == before["counts"]["conversations"]


async def test_right_password_handshake_succeeds(sidecar: Sidecar, zctx: zmq.asyncio.Context) -> None:
    good = Client(sidecar.endpoint, sidecar.token, context=zctx)
    monitor = _watch_handshake(good._sock)  # noqa: SLF001
    good.connect()
    try:
        assert (await _verdict(good._sock, monitor))[-1] == zmq.EVENT_HANDSHAKE_SUCCEEDED  # noqa: SLF001
    finally:
        await good.close()


async def test_no_auth_client_rejected_by_auth_server(sidecar: Sidecar, zctx: zmq.asyncio.Context) -> None:
    anon = Client(sidecar.endpoint, None, context=zctx, timeout=1.0)
    anon.connect()
    try:
        with pytest.raises(RequestTimeout):
            await anon.call("server.info")
    finally:
        await anon.close()


async def test_history_survives_kill_9_and_restart(data_dir: Path, zctx: zmq.asyncio.Context) -> None:
    first = Sidecar(data_dir, PERSONAS).start()
    try:
        async with Client(first.endpoint, first.token, context=zctx) as c:
            persona = (await c.call("persona.list"))["personas"][0]["id"]
            cid = (await c.call("conversation.start", {"persona": persona, "player": "ana"}))["conversation"]
            said = [
                await c.call("conversation.say", {"conversation": cid, "text": f"Line number {i}."}) for i in range(5)
            ]
            affinity = said[-1]["affinity"]["value"]
    finally:
        first.kill()  # SIGKILL: no clean shutdown, no checkpoint
    assert first.proc is not None and first.proc.returncode == -9

    second = Sidecar(data_dir, PERSONAS).start()
    try:
        async with Client(second.endpoint, second.token, context=zctx) as c:
            lines = (await c.call("conversation.history", {"conversation": cid}))["lines"]
            assert [ln["text"] for ln in lines if ln["speaker"] == "player"] == [f"Line number {i}." for i in range(5)]
            assert [ln["text"] for ln in lines if ln["speaker"] != "player"][1:] == [s["line"]["text"] for s in said]
            again = await c.call("conversation.say", {"conversation": cid, "text": "Still there?"})
            assert again["affinity"]["value"] == max(0, min(100, affinity + again["affinity"]["delta"]))
    finally:
        assert second.stop() == 0


def test_sigterm_exits_cleanly(sidecar: Sidecar) -> None:
    assert sidecar.stop() == 0


def test_parent_death_ends_the_sidecar(data_dir: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    try:
        side = Sidecar(data_dir, PERSONAS, parent_pid=parent.pid).start()
        parent.kill()
        parent.wait()
        assert side.wait(timeout=30) == 0
    finally:
        if parent.poll() is None:
            parent.kill()


def test_unknown_parent_pid_refused(data_dir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with pytest.raises(SidecarFailed, match="no such process"):
        Sidecar(data_dir, PERSONAS, parent_pid=dead.pid).start()


def _serve_at(data_dir: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    """`parley serve` at `endpoint`, run to its exit (the tests below expect it to refuse)."""
    return subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(data_dir), "--personas", str(PERSONAS)]
        + ["--endpoint", endpoint],
        env=dict(os.environ, PARLEY_TOKEN="t"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_non_loopback_endpoint_refused(data_dir: Path) -> None:
    out = _serve_at(data_dir, "tcp://0.0.0.0:0")
    assert out.returncode == 2
    assert "--allow-remote" in out.stderr
    assert out.stdout == ""


def test_endpoint_in_use_refused_before_the_ready_line(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        endpoint = f"tcp://127.0.0.1:{taken.getsockname()[1]}"
        out = _serve_at(data_dir, endpoint)
    assert out.returncode == 2
    assert endpoint in out.stderr and "in use" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_missing_token_refused(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_TOKEN"}
    out = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(data_dir), "--personas", str(PERSONAS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "PARLEY_TOKEN" in out.stderr


async def test_no_auth_mode_serves_and_warns(data_dir: Path, zctx: zmq.asyncio.Context) -> None:
    side = Sidecar(data_dir, PERSONAS, extra_args=["--no-auth"]).start()
    try:
        async with Client(side.endpoint, None, context=zctx) as c:
            assert (await c.call("server.info"))["protocol"] == 1
    finally:
        side.stop()
    assert "AUTHENTICATION IS OFF" in side.stderr_text()
