"""A real pyzmq ROUTER with PLAIN auth through pyzmq's ZAP authenticator, for the GDScript
ZMTP and client tests (godot_addon/tests/net/). Started by the tests as a subprocess.

    python zap_router.py --password PW [--port N] [--heartbeat-ms N]

Prints one JSON line {"event": "ready", "endpoint": "tcp://127.0.0.1:PORT"} on stdout, then
answers msgpack requests {id, op, args}:

    echo       -> ok {"args": args}
    events     -> args.n events {"event": "line.delta", "data": {"text": "<i>"}}, then ok
    error      -> error reply {"code": args.code, "message": "as asked", "details": {...}}
    silent     -> no reply at all (for time-limit tests)
    multipart  -> the reply as two frames: [b"part-one", reply] (tests the MORE flag)
    stats      -> ok {"received": number of application messages received so far}
    quit       -> ok, then exits

It exits on its own when its stdin closes (the test runner died), when --parent-pid dies, or
after --lifetime seconds, so no test leaves it behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

import msgpack
import zmq
from zmq.auth.thread import ThreadAuthenticator


def _watch_stdin(stop: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def _parent_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--password", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--heartbeat-ms", type=int, default=0)
    ap.add_argument("--parent-pid", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()

    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"parley": args.password})
    sock = ctx.socket(zmq.ROUTER)
    sock.plain_server = True
    sock.linger = 0
    if args.heartbeat_ms:
        sock.setsockopt(zmq.HEARTBEAT_IVL, args.heartbeat_ms)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, args.heartbeat_ms * 3)
    if args.port:
        sock.bind(f"tcp://127.0.0.1:{args.port}")
        port = args.port
    else:
        port = sock.bind_to_random_port("tcp://127.0.0.1")
    print(json.dumps({"event": "ready", "endpoint": f"tcp://127.0.0.1:{port}", "port": port}),
          flush=True)

    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    deadline = time.monotonic() + args.lifetime
    received = 0
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            if args.parent_pid and not _parent_alive(args.parent_pid):
                break
            if not poller.poll(100):
                continue
            identity, *frames = sock.recv_multipart()
            received += 1
            try:
                req: dict[str, Any] = msgpack.unpackb(frames[-1], raw=False)
                rid, op, rargs = req["id"], req["op"], req.get("args", {})
            except (ValueError, KeyError, TypeError, IndexError):
                continue
            if op == "silent":
                continue
            if op == "events":
                for i in range(int(rargs.get("n", 1))):
                    event = {"id": rid, "event": "line.delta", "data": {"text": str(i)}}
                    sock.send_multipart([identity, msgpack.packb(event)])
            if op == "error":
                reply: dict[str, Any] = {"id": rid, "ok": False, "error": {
                    "code": rargs.get("code", "bad_request"), "message": "as asked",
                    "details": {"op": op}}}
            elif op == "stats":
                reply = {"id": rid, "ok": True, "result": {"received": received}}
            else:
                reply = {"id": rid, "ok": True, "result": {"args": rargs, "op": op}}
            if op == "multipart":
                sock.send_multipart([identity, b"part-one", msgpack.packb(reply)])
            else:
                sock.send_multipart([identity, msgpack.packb(reply)])
            if op == "quit":
                break
    finally:
        sock.close(0)
        auth.stop()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
