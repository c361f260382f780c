"""The embedded engine's hot path, per call: reply, options, observe, the quality score, the
reading of the player's line, and line similarity.

Scripted conversations (16 player lines, 8 seeds) with every sample persona, the way the turn
pipeline drives the engine (history and memory carried over). Prints the median and mean per
call in µs, best of `--runs` runs (a shared machine adds noise; compare runs taken together).

Usage: .venv/bin/python benchmarks/engine_hot.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from sidecar.engine import quality
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.personality import tune
from sidecar.engine.reading import _read
from sidecar.engine.sentiment import analyze
from sidecar.engine.state import ConversationState, EngineMemory
from sidecar.engine.text import similarity
from sidecar.engine.types import PLAYER, Line, TurnContext
from sidecar.personas.loader import load_personas
from sidecar.personas.model import Persona

PERSONAS = Path(__file__).resolve().parent.parent / "personas"
SCRIPT = (
    "Hello there!", "How are you?", "I'm Ana, by the way.", "I love fishing on the lake.",
    "Tell me about your work.", "What do you think of the mayor?", "You're an idiot.",
    "Sorry, I didn't mean that.", "What's my name?", "I hate mornings.", "Anything new around here?",
    "What do I like?", "Thanks for the chat.", "Who are you?", "Tell me a story.", "Goodbye!",
)
KINDS = ("reply", "options", "observe", "quality", "read", "similarity")


def _ctx(persona: Persona, seed: int, turn: int, history: list[Line], memory: EngineMemory) -> TurnContext:
    return TurnContext(persona=persona, player="Ana", affinity=50, seed=seed, turn=turn,
                       history=tuple(history[-24:]), state=ConversationState(engine=memory))


def one_run(seeds: range) -> dict[str, list[float]]:
    engine = EmbeddedEngine()
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    clock = time.perf_counter
    for persona in sorted(load_personas(PERSONAS).personas.values(), key=lambda p: p.id):
        budget = tune(persona, 50).max_tokens
        # Untimed: the first call per persona builds its topic index and phrase tables (once
        # per process); the figures are for the turns after that.
        warm = engine.reply(_ctx(persona, 0, 1, [], EngineMemory()), "Hello.", analyze("Hello."))
        engine.options(_ctx(persona, 0, 1, [], EngineMemory()), warm.text, "Hello.")
        for seed in seeds:
            history: list[Line] = []
            memory = EngineMemory()
            greeting = engine.greet(_ctx(persona, seed, 0, history, memory))
            memory = greeting.memory
            history.append(Line(persona.id, greeting.text))
            for turn, text in enumerate(SCRIPT, 1):
                c, sentiment = _ctx(persona, seed, turn, history, memory), analyze(text)
                t0 = clock()
                composed = engine.reply(c, text, sentiment)
                t1 = clock()
                engine.options(c, composed.text, text)
                t2 = clock()
                engine.observe(c, text, composed.text)
                t3 = clock()
                quality.score(composed.text, persona=persona, history=(*history, Line(PLAYER, text)),
                              preset_max_tokens=budget, player_name="Ana", other_names=("Goldie", "Rook"))
                t4 = clock()
                _read.cache_clear()  # the reading uncached, as for a new line
                t5 = clock()
                _read(text)
                t6 = clock()
                for old in history[-6:]:
                    similarity(composed.text, old.text, at_least=quality.NEAR_DUPLICATE)
                t7 = clock()
                for kind, dt in zip(KINDS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5, (t7 - t6) / 6),
                                    strict=True):
                    times[kind].append(dt)
                memory = composed.memory
                history += [Line(PLAYER, text), Line(persona.id, composed.text)]
                if composed.ending:
                    break
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.runs):
        for kind, samples in one_run(range(1, 9)).items():
            row = {"median_us": statistics.median(samples) * 1e6, "mean_us": statistics.fmean(samples) * 1e6,
                   "calls": len(samples)}
            if kind not in best or row["median_us"] < best[kind]["median_us"]:
                best[kind] = row
    if args.json:
        print(json.dumps(best, indent=2))
    else:
        for kind, row in best.items():
            print(f"{kind:10s} median {row['median_us']:7.1f} µs   mean {row['mean_us']:7.1f} µs"
                  f"   ({row['calls']:.0f} calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
