"""Start-up time of `python -m sidecar serve`: from spawn to its ready line on stdout.

Each run spawns a real sidecar (fresh data dir, PARLEY_TOKEN set, PLAIN auth on) over a copy
of the sample personas, alone (`samples`) or with the hostile persona corpus of
tests/personas/hostile_corpus.py beside them (`corpus`), reads the ready line, takes the
process's CPU time at that moment, and kills it. CPU is read from /proc/<pid>/task/*/schedstat
(nanoseconds; Linux) or else from psutil (clock ticks, 10 ms steps), so it counts the threads
still alive at ready (ZeroMQ's, the authenticator's, the store's), not ones already ended.

`--against DIR` also runs the sidecar from another source tree (e.g. `git worktree add
/tmp/base main`), alternating old and new run by run so both see the same machine load;
each tree is byte-compiled first so neither pays for compiling its modules. Wall time on a
shared machine mostly measures the neighbours; CPU time is the figure to compare.

Usage: .venv/bin/python benchmarks/startup.py [--mode samples|corpus|both] [--runs 7] [--against DIR]
"""

from __future__ import annotations

import argparse
import compileall
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "personas"))

from hostile_corpus import write_corpus  # type: ignore[import-not-found]  # noqa: E402  (a test helper)


def personas_folder(root: Path, mode: str) -> Path:
    folder = root / f"personas-{mode}"
    folder.mkdir()
    for path in sorted((REPO / "personas").glob("*.toml")):
        shutil.copy(path, folder / path.name)
    if mode == "corpus":
        write_corpus(folder)
    return folder


def cpu_seconds(pid: int) -> float:
    tasks = Path(f"/proc/{pid}/task")
    if tasks.is_dir():
        total = 0
        for task in tasks.iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
        return total / 1e9
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def one_run(tree: Path, folder: Path, data: Path) -> tuple[float, float]:
    """(wall, cpu) seconds from spawn to the ready line of the sidecar in `tree`."""
    env = dict(os.environ, PARLEY_TOKEN=secrets.token_hex(16))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(data), "--personas", str(folder)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tree)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid)
        if b'"ready"' not in line:
            raise SystemExit(f"{tree}: no ready line (got {line!r})")
    finally:
        proc.kill()
        proc.wait()
    return wall, cpu


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s [{min(values):.3f}-{max(values):.3f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("samples", "corpus", "both"), default="both")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--against", type=Path, help="another source tree to alternate with")
    args = ap.parse_args()
    trees = [REPO] + ([args.against.resolve()] if args.against else [])
    for tree in trees:
        compileall.compile_dir(tree / "sidecar", quiet=1)
    modes = ("samples", "corpus") if args.mode == "both" else (args.mode,)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for mode in modes:
            folder = personas_folder(root, mode)
            results: dict[Path, tuple[list[float], list[float]]] = {t: ([], []) for t in trees}
            for i in range(args.runs):
                for tree in trees if i % 2 == 0 else trees[::-1]:
                    data = root / f"data-{mode}-{i}-{trees.index(tree)}"
                    wall, cpu = one_run(tree, folder, data)
                    results[tree][0].append(wall)
                    results[tree][1].append(cpu)
            for tree, (walls, cpus) in results.items():
                print(f"{mode:8} {tree}: cpu {summary(cpus)}  wall {summary(walls)}  ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
