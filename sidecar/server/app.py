"""The sidecar process: a ZeroMQ ROUTER that turns msgpack requests into turns.

Lifecycle: load the provider config if one is given (a bad one is a `ConfigError`: exit 2
before the ready line), build the services (sidecar/wiring.py: store, personas, provider
chain, conversation service), bind
(loopback only unless `allow_remote`), print the ready line, serve until SIGTERM/SIGINT or
until the parent process dies, then drain in-flight requests, close the providers' HTTP
client and the store.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import zmq
import zmq.asyncio

from sidecar import wiring
from sidecar.errors import ConfigError
from sidecar.protocol.codec import MAX_FRAME_BYTES
from sidecar.protocol.codes import PROTOCOL_VERSION
from sidecar.server.dispatch import Dispatcher, Send
from sidecar.server.wire import Wire

if TYPE_CHECKING:
    from zmq.auth.asyncio import AsyncioAuthenticator

    from sidecar.llm.spec import LlmSettings

log = logging.getLogger(__name__)

PLAIN_USER = "parley"
TOKEN_ENV = "PARLEY_TOKEN"
PARENT_POLL_S = 0.5
ZAP_DOMAIN = "parley"


@dataclass
class ServeOptions:
    data_dir: Path
    personas_dir: Path
    endpoint: str = "tcp://127.0.0.1:0"
    allow_remote: bool = False
    no_auth: bool = False
    parent_pid: int | None = None
    config: Path | None = None
    token: str | None = field(default=None, repr=False)


def check_endpoint(endpoint: str, allow_remote: bool) -> None:
    """Refuse anything but loopback TCP (or ipc) unless the user asked for remote access."""
    parts = urlsplit(endpoint)
    if parts.scheme == "ipc":
        return
    if parts.scheme != "tcp" or not parts.hostname:
        raise ConfigError(f"endpoint {endpoint!r}: use tcp://127.0.0.1:PORT (or ipc://PATH)")
    host = parts.hostname
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ConfigError(
            f"endpoint {endpoint!r} is not a loopback address; pass --allow-remote to "
            "expose the sidecar to other machines (and keep PLAIN auth on)"
        )


class ParentWatch:
    """Ends the sidecar when the game that started it is gone (crash, kill -9).

    Polls the pid and its start time, so a recycled pid does not keep us alive."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._psutil = psutil
        self.pid = pid
        try:
            self._created = psutil.Process(pid).create_time()
        except psutil.Error as exc:
            raise ConfigError(f"--parent-pid {pid}: no such process") from exc

    def alive(self) -> bool:
        try:
            proc = self._psutil.Process(self.pid)
            return bool(proc.create_time() == self._created and proc.is_running()) and (
                proc.status() != self._psutil.STATUS_ZOMBIE
            )
        except self._psutil.Error:
            return False


async def serve(opts: ServeOptions) -> int:
    check_endpoint(opts.endpoint, opts.allow_remote)
    token = opts.token if opts.token is not None else os.environ.get(TOKEN_ENV)
    if not opts.no_auth and not token:
        raise ConfigError(f"{TOKEN_ENV} is not set: the game passes the auth token there")
    watch = ParentWatch(opts.parent_pid) if opts.parent_pid else None
    started = time.monotonic()
    llm = await load_llm(opts.config) if opts.config is not None else None

    async with wiring.services(opts.data_dir, opts.personas_dir, llm) as services:
        ctx = zmq.asyncio.Context()
        auth = None
        try:
            sock, auth = _bind(ctx, opts, token)
            wire = Wire.open(sock)
            send = wire.send if wire is not None else socket_sender(sock)
            dispatcher = wiring.dispatcher(services, send, started=started)
            stop = asyncio.Event()
            _install_signals(stop)
            _announce(sock.getsockopt_string(zmq.LAST_ENDPOINT), started)
            await _run(sock, dispatcher, stop, watch, wire)
            sock.close(linger=0)
        finally:
            if auth is not None:
                auth.stop()
            ctx.term()
    log.info("stopped")
    return 0


def _bind(
    ctx: zmq.asyncio.Context, opts: ServeOptions, token: str | None
) -> tuple[zmq.asyncio.Socket, AsyncioAuthenticator | None]:
    """The ROUTER socket, bound, with PLAIN auth through ZAP unless `no_auth` (then the
    authenticator is None). Raises ConfigError if the endpoint cannot be bound (in use)."""
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    auth = None
    if opts.no_auth:
        log.warning("AUTHENTICATION IS OFF (--no-auth): any local process can talk to this sidecar")
    else:
        from zmq.auth.asyncio import AsyncioAuthenticator

        auth = AsyncioAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain=ZAP_DOMAIN, passwords={PLAIN_USER: token or ""})
        sock.plain_server = True
        sock.zap_domain = ZAP_DOMAIN.encode()
    try:
        sock.bind(opts.endpoint)
    except zmq.ZMQError as exc:
        sock.close(linger=0)  # else ctx.term() would wait for it
        if auth is not None:
            auth.stop()
        raise ConfigError(f"cannot listen on {opts.endpoint!r}: {exc.strerror}") from exc
    return sock, auth


def _announce(endpoint: str, started: float) -> None:
    """The ready line on stdout (what the game waits for), then the same in the log."""
    ready = {"event": "ready", "endpoint": endpoint, "protocol": PROTOCOL_VERSION, "pid": os.getpid()}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    log.info("ready", extra={"endpoint": endpoint, "startup_ms": round((time.monotonic() - started) * 1000, 1)})


def socket_sender(sock: zmq.asyncio.Socket) -> Send:
    """The dispatcher's `send` through zmq.asyncio: one frame to the peer named by the
    identity frames (the path of a loop that cannot watch the socket, sidecar/server/wire.py)."""

    async def send(prefix: Sequence[bytes], frame: bytes) -> None:
        try:
            await sock.send_multipart([*prefix, frame])
        except zmq.ZMQError as exc:  # peer gone (ROUTER_MANDATORY off: silently dropped)
            log.info("reply not sent", extra={"why": str(exc)})

    return send


async def load_llm(path: Path) -> LlmSettings:
    """The provider chain of a config file, keys resolved from the environment and the OS
    keyring off the event loop. Raises `ConfigError` (file and field named; values never
    echoed) before anything is opened, so a bad file ends `serve` before its ready line."""
    from sidecar.llm.config import load_config, resolve_async

    settings = await resolve_async(load_config(path), source=str(path))
    for spec in settings.chain:
        log.info(
            "provider configured",
            extra={
                "provider": spec.name,
                "kind": spec.kind,
                "model": spec.model,
                "key_source": spec.key_source,
                "problem": spec.key_problem,
            },
        )
    return settings


def _install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))


async def _run(
    sock: zmq.asyncio.Socket,
    dispatcher: Dispatcher,
    stop: asyncio.Event,
    watch: ParentWatch | None,
    wire: Wire | None = None,
) -> None:
    async def watch_parent() -> None:
        assert watch is not None
        while watch.alive():  # noqa: ASYNC110 - polling another process is the point
            await asyncio.sleep(PARENT_POLL_S)
        log.warning("parent process is gone; shutting down", extra={"parent_pid": watch.pid})
        stop.set()

    async def receive() -> None:
        while True:
            frames = await sock.recv_multipart(copy=True)
            dispatcher.handle(frames)

    recv_task: asyncio.Future[Any]
    if wire is not None:
        wire.start(dispatcher.handle)
        recv_task = asyncio.ensure_future(wire.closed.wait())
    else:
        recv_task = asyncio.ensure_future(receive())
    watch_task = asyncio.ensure_future(watch_parent()) if watch else None
    stop_task = asyncio.ensure_future(stop.wait())
    waiting: set[asyncio.Future[Any]] = {recv_task, stop_task}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    for task in (recv_task, watch_task, stop_task):
        if task is not None:
            task.cancel()
    if recv_task in done and recv_task.exception() is not None:
        log.error("receive loop failed", exc_info=recv_task.exception())
    if wire is not None:
        wire.close()  # no new requests while the ones in flight finish
    await dispatcher.drain()


__all__ = ["PLAIN_USER", "TOKEN_ENV", "ServeOptions", "check_endpoint", "serve"]
