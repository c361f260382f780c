"""Start-to-ready time of the packaged sidecar against `python -m sidecar serve`.

    python build/startup_bench.py [--runs 9] [--binary PATH] [--json]

Each run starts the command the way the game does (token in PARLEY_TOKEN, --parent-pid, port
0), times from just before the process is created to the moment its ready line has been read
from stdout, then stops it with SIGTERM. The two commands alternate (A B A B ...) after one
warm-up run each, so drift of a shared machine hits both alike; the medians and the median of
the pairwise ratios are printed. Also prints the size of the binary's folder.

What can fail: the binary is missing (build it with `make sidecar`), or a command never prints
its ready line (its stderr is shown).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build"))

from build_sidecar import DEFAULT_DIST, executable_name, platform_dir  # noqa: E402


def start_to_ready(cmd: list[str], data_dir: Path) -> float:
    """Seconds from process creation to the ready line; stops the process afterwards."""
    env = dict(os.environ, PARLEY_TOKEN=secrets.token_hex(16))
    args = [
        *cmd,
        "serve",
        "--data-dir",
        str(data_dir),
        "--personas",
        str(ROOT / "personas"),
        "--endpoint",
        "tcp://127.0.0.1:0",
        "--parent-pid",
        str(os.getpid()),
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    if not line.startswith(b'{"event": "ready"'):
        raise SystemExit(f"{cmd[0]}: no ready line (got {line[:200]!r}); stderr:\n{err.decode(errors='replace')}")
    return elapsed


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--binary", type=Path, default=DEFAULT_DIST / platform_dir() / executable_name())
    ap.add_argument("--python", default=sys.executable, help="interpreter for `python -m sidecar`")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.binary.exists():
        print(f"{args.binary} is missing: run `make sidecar` first", file=sys.stderr)
        return 2
    commands = {"binary": [str(args.binary)], "python": [args.python, "-m", "sidecar"]}
    times: dict[str, list[float]] = {k: [] for k in commands}
    with tempfile.TemporaryDirectory(prefix="parley-startup-") as tmp:
        dirs = {k: Path(tmp) / k for k in commands}
        for key, cmd in commands.items():  # warm-up: creates the database, fills OS caches
            start_to_ready(cmd, dirs[key])
        for _ in range(args.runs):
            for key, cmd in commands.items():
                times[key].append(start_to_ready(cmd, dirs[key]))
    ratios = [b / p for b, p in zip(times["binary"], times["python"], strict=True)]
    report = {
        "runs": args.runs,
        "binary_median_s": round(statistics.median(times["binary"]), 4),
        "python_median_s": round(statistics.median(times["python"]), 4),
        "ratio_median": round(statistics.median(ratios), 3),
        "binary_min_max_s": [round(min(times["binary"]), 4), round(max(times["binary"]), 4)],
        "python_min_max_s": [round(min(times["python"]), 4), round(max(times["python"]), 4)],
        "binary_folder_mb": round(folder_size(args.binary.parent) / 1e6, 1),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
