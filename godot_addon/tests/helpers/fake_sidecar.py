"""A stand-in for the sidecar's launcher contract only (no ZeroMQ): used by
tests/test_sidecar_process.gd to check what sidecar_process.gd hands the child and how it
reacts to a bad ready line or a child that keeps dying.

    python fake_sidecar.py MODE serve --data-dir D --personas P --endpoint E --parent-pid N

MODE "echo": print a ready line that reports what was received (argv, PARLEY_TOKEN), then
wait for stdin to close or 60 s. MODE "bad-protocol": a ready line with protocol 99.
MODE "die": exit 3 at once after writing to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main() -> int:
    mode, argv = sys.argv[1], sys.argv[2:]
    if mode == "die":
        print("fake sidecar: dying on purpose", file=sys.stderr, flush=True)
        return 3
    line = {"event": "ready", "endpoint": "tcp://127.0.0.1:9", "protocol": 1, "pid": os.getpid()}
    if mode == "bad-protocol":
        line["protocol"] = 99
    else:
        line["argv"] = argv
        line["token"] = os.environ.get("PARLEY_TOKEN", "")
    print("a line that is not the ready line", flush=True)
    print(json.dumps(line), flush=True)
    done = threading.Event()

    def watch() -> None:
        while sys.stdin.buffer.read(1024):
            pass
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    done.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
