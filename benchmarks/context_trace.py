"""A budget trace of one long conversation: what the context step folds and what each
prompt costs.

Runs `--turns` player lines to Ansel through the real `Dialogue` (wired as `parley serve`
wires it) on a fresh SQLite file, twice: with the provider chain (one OpenAI-format loopback
server, the tests' fake, `context_budget = --budget`) and with the embedded engine alone.
Prints, per turn: the stored lines, how many of them the summary in force covers, the line
request's messages and prompt tokens (estimated, the count the budget is kept with) plus its
reply reserve, and whether a summary was folded on that turn (llm / extractive).

Usage: .venv/bin/python benchmarks/context_trace.py [--turns 80] [--budget 2048] [--every 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "llm"))

from llm_fakes import FakeProvider, Reply  # noqa: E402

from sidecar.engine.summary import holds  # noqa: E402
from sidecar.engine.tokens import ESTIMATE, MESSAGE_FRAMING  # noqa: E402
from sidecar.engine.turn import Dialogue, PersonaRegistry  # noqa: E402
from sidecar.llm import MemoryLedger, Router  # noqa: E402
from sidecar.llm.config import parse_config, resolve  # noqa: E402
from sidecar.personas.loader import load_personas  # noqa: E402
from sidecar.store.db import DB_FILENAME, Store  # noqa: E402
from sidecar.store.summaries import SummaryStore  # noqa: E402
from sidecar.wiring import dialogue  # noqa: E402

KEY = "sk-bench-0000000000000000"
REPO = Path(__file__).resolve().parent.parent
LINES = [
    "How is the work at the forge today?",
    "What do you think of the weather this week?",
    "Do you know Goldie at the inn well?",
    "Tell me about the river and the ford.",
    "What are you making with that iron?",
    "Have you heard any news from the mill?",
    "Which tools do you like making best?",
    "Is the market busy on Thursdays?",
    "Could you mend my grandmother's kettle by Friday?",
    "I found an old horseshoe near the bridge yesterday.",
]
FACTS = ("The player's name is Mira.", "The player said: I love fishing at the old mill.")


def config(base_url: str, budget: int) -> str:
    return (
        f'[router]\nchain = ["main"]\n[limits]\nretries = 0\n[providers.main]\nkind = "openai"\n'
        f'base_url = "{base_url}"\nmodel = "m"\napi_key_env = "MAIN_KEY"\nkeyring = false\n'
        f'json = "json_schema"\ncontext_budget = {budget}\noptions_in_line = false\n'
    )


def prompt_tokens(body: dict[str, object]) -> tuple[int, int]:
    messages = body["messages"]
    assert isinstance(messages, list)
    return len(messages) - 1, sum(ESTIMATE.count(str(m["content"])) for m in messages) + MESSAGE_FRAMING * len(messages)


async def run(d: Dialogue, store: Store, turns: int, every: int, fake: FakeProvider | None, budget: int) -> None:
    summaries = SummaryStore(store)
    started = await d.start("ansel", "p1", seed=5)
    cid = started.conversation
    folds = 0
    peak = 0
    said = 0
    t0 = time.perf_counter()
    print(f"{'turn':>4} {'lines':>5} {'summarised':>10} {'msgs':>4} {'prompt':>6} {'+reply':>6} {'fold':>10}")
    for turn in range(turns):
        text = "Hello! My name is Mira and I love fishing at the old mill." if turn == 0 else LINES[turn % len(LINES)]
        before = len(fake.received) if fake else 0
        known = await summaries.latest(cid, "ansel")
        await d.say(cid, text)
        said += 1
        now = await summaries.latest(cid, "ansel")
        fold = "-"
        if now is not None and (known is None or now.to_seq != known.to_seq):
            fold, folds = now.method, folds + 1
        msgs = tokens = reply = 0
        if fake is not None:
            line_requests = [
                r.body for r in fake.received[before:] if "next line only" in str(r.body["messages"][0]["content"])
            ]
            if line_requests:
                msgs, tokens = prompt_tokens(line_requests[-1])
                reply = int(str(line_requests[-1].get("max_tokens")))
                peak = max(peak, tokens + reply)
        lines = len(await store.lines(cid))
        covered = now.to_seq + 1 if now else 0
        if turn % every == 0 or fold != "-" and turn < 3 * every:
            print(f"{turn + 1:>4} {lines:>5} {covered:>10} {msgs:>4} {tokens:>6} {reply:>6} {fold:>10}")
    elapsed = time.perf_counter() - t0
    last = await summaries.latest(cid, "ansel")
    kept = all(holds(last.text, f) for f in FACTS) if last else False
    print(
        f"turns {said}, folds {folds}, lines summarised {last.to_seq + 1 if last else 0} of "
        f"{len(await store.lines(cid))}, summary ~{ESTIMATE.count(last.text) if last else 0} tokens, "
        f"facts kept {kept}, peak request {peak}/{budget} tokens, {elapsed / said * 1000:.1f} ms/turn"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=80)
    parser.add_argument("--budget", type=int, default=2048)
    parser.add_argument("--every", type=int, default=5, help="print every n-th turn")
    args = parser.parse_args()
    logging.getLogger("sidecar").setLevel(logging.ERROR)  # the fake's canned text fails the options call
    registry = PersonaRegistry(load_personas(REPO / "personas").personas)
    fake = await FakeProvider("openai", key=KEY).start()
    fake.queue(*(Reply(text=f"Aye, a fair question, that one ({i}). The forge keeps me busy.") for i in range(10_000)))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / DB_FILENAME, checkpoint_interval=None)
            settings = resolve(
                parse_config(config(fake.base_url, args.budget)), env={"MAIN_KEY": KEY}, keys=lambda n: None
            )
            async with Router.from_settings(settings, MemoryLedger()) as router:
                print(f"== provider chain (loopback), context_budget {args.budget}")
                await run(dialogue(store, registry, router, None), store, args.turns, args.every, fake, args.budget)
            await store.close()
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / DB_FILENAME, checkpoint_interval=None)
            print("== embedded engine (extractive summaries)")
            await run(Dialogue(store, registry), store, args.turns, args.every, None, args.budget)
            await store.close()
    finally:
        await fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
