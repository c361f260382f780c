"""Command line: `parley serve | chat | demo | validate | schema | bench | providers | costs | memory | history`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar import PROTOCOL_VERSION, __version__
from sidecar.paths import REPO_ROOT, SCHEMA_DIR, default_data_dir, default_personas_dir

if TYPE_CHECKING:
    from sidecar.llm.costs import CostReport
    from sidecar.llm.spec import LlmSettings, Price

# Imports are lazy (inside the handlers): `--version` and `validate` stay quick, and `serve`
# pays only for what serving needs.


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="parley", description="Conversations for game NPCs.")
    ap.add_argument("--version", action="version", version=f"parley {__version__} (protocol {PROTOCOL_VERSION})")
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="run the sidecar (the game starts this)")
    s.add_argument("--data-dir", type=Path, default=None, help="where parley.sqlite3 and logs live")
    s.add_argument("--personas", type=Path, default=None, help="directory of persona TOML files")
    s.add_argument("--endpoint", default="tcp://127.0.0.1:0", help="ZeroMQ endpoint to bind (port 0: any free port)")
    s.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    s.add_argument("--no-auth", action="store_true", help="turn PLAIN auth off (local debugging only)")
    s.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies (the game passes its pid)")
    s.add_argument("--config", type=Path, default=None, help="provider configuration (TOML)")
    s.add_argument("--log-file", type=Path, default=None, help="JSON-lines log (default: DATA_DIR/logs/sidecar.log)")
    s.add_argument("--log-level", default="INFO")
    s.add_argument("--log-max-bytes", type=int, default=None, help="rotate the log file at this size (default 4 MiB)")
    s.add_argument("--log-backups", type=int, default=None, help="rotated log files kept (default 3)")
    s.add_argument("--log-burst", type=int, default=None, help="lines of one repeated message per window (default 10)")
    s.add_argument("--log-interval", type=float, default=None, help="repeat-limit window in seconds (default 60)")

    c = sub.add_parser("chat", help="talk to an NPC in the terminal (starts its own sidecar)")
    c.add_argument("--persona", default=None)
    c.add_argument("--player", default="player")
    c.add_argument("--player-name", default=None, help="the player's display name (the NPC knows it)")
    c.add_argument("--data-dir", type=Path, default=None)
    c.add_argument("--personas", type=Path, default=None)
    c.add_argument("--seed", type=int, default=None)
    c.add_argument("--config", type=Path, default=None, help="provider configuration (TOML) for the sidecar")
    c.add_argument(
        "--provider",
        default=None,
        help="talk through this provider alone (then the embedded engine): a provider of --config, "
        "or a preset such as groq, openai, anthropic, ollama",
    )
    c.add_argument("--model", default=None, help="with a preset --provider: the model id to use")
    c.add_argument("--scene", default=None, metavar="ID,ID,...",
                   help="talk to several NPCs at once (a scene): persona ids, comma-separated")
    c.add_argument("--strategy", default="natural", choices=["natural", "list", "pooled"],
                   help="with --scene: who answers a line (default: the NPCs it names, in order)")

    pr = sub.add_parser("providers", help="the provider chain and each provider's state (never the keys)")
    pr.add_argument("action", nargs="?", choices=["list", "check"], default="list",
                    help="check: send one tiny request to each provider and report latency or the exact error")
    pr.add_argument("--config", type=Path, default=None, help="provider configuration (TOML)")
    pr.add_argument("--json", action="store_true")

    co = sub.add_parser("costs", help="what provider calls cost, by day, provider and persona")
    co.add_argument("--data-dir", type=Path, default=None)
    co.add_argument("--days", type=int, default=None, help="only the last N local days (today included)")
    co.add_argument("--json", action="store_true", help="print the stats.costs shape as JSON")

    me = sub.add_parser("memory", help="what an NPC remembers of a player (long-term memory)")
    me.add_argument("action", choices=["show"])
    me.add_argument("--persona", required=True, help="the NPC's persona id")
    me.add_argument("--player", required=True, help="the player id the game uses")
    me.add_argument("--data-dir", type=Path, default=None)
    me.add_argument("--limit", type=int, default=None, help="at most this many (most important first)")
    me.add_argument("--json", action="store_true", help="print the memory.list shape as JSON")

    d = sub.add_parser("demo", help="a scripted conversation with two NPCs through a real sidecar")
    d.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary directory")
    d.add_argument("--personas", type=Path, default=None)
    d.add_argument("--seed", type=int, default=7)

    v = sub.add_parser("validate", help="check persona files; prints file:line: field: message")
    v.add_argument("paths", nargs="*", type=Path)

    sc = sub.add_parser("schema", help="write the JSON Schemas (protocol and persona)")
    sc.add_argument("--check", action="store_true", help="fail if the checked-in schemas are stale")

    b = sub.add_parser("bench", help="measure turn latency, throughput and CPU per turn through the real socket")
    b.add_argument("--turns", type=int, default=2000)
    b.add_argument("--conversations", type=int, default=32)
    b.add_argument("--llm-turns", type=int, default=500, help="turns against the loopback LLM provider")
    b.add_argument("--json", action="store_true", help="print only the JSON (default: the JSON, then a table)")

    from sidecar import cli_history

    cli_history.add_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "serve": _serve,
        "chat": _chat,
        "demo": _demo,
        "validate": _validate,
        "schema": _schema,
        "bench": _bench,
        "providers": _providers,
        "costs": _costs,
        "memory": _memory,
        "history": _history,
    }[args.cmd]
    return int(handler(args) or 0)


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.errors import ParleyError
    from sidecar.server.app import ServeOptions, serve
    from sidecar.server.logs import log_limits, setup_logging

    data_dir = args.data_dir or default_data_dir()
    try:
        limits = log_limits(args.log_burst, args.log_interval, args.log_max_bytes, args.log_backups)
    except ValueError as exc:
        print(f"parley serve: config_error: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_file or data_dir / "logs" / "sidecar.log", args.log_level, limits)
    opts = ServeOptions(
        data_dir=data_dir,
        personas_dir=args.personas or default_personas_dir(),
        endpoint=args.endpoint,
        allow_remote=args.allow_remote,
        no_auth=args.no_auth,
        parent_pid=args.parent_pid,
        config=args.config,
    )
    try:
        return asyncio.run(serve(opts))
    except ParleyError as exc:
        print(f"parley serve: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _validate(args: argparse.Namespace) -> int:
    from sidecar.personas.loader import validate_paths

    paths = args.paths or [default_personas_dir()]
    problems = validate_paths(paths)
    for p in problems:
        print(p)
    errors = [p for p in problems if p.severity == "error"]
    files = sum(1 for path in paths for _ in (path.glob("*.toml") if path.is_dir() else [path]))
    print(f"{files} file(s) checked: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from sidecar.personas.loader import render_schema
    from sidecar.protocol.schema import protocol_schemas

    files: dict[Path, str] = {
        SCHEMA_DIR / name: json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in protocol_schemas().items()
    }
    files[REPO_ROOT / "personas" / "persona.schema.json"] = render_schema()
    stale = []
    for path, text in files.items():
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check:
        known = {p.name for p in files if p.parent == SCHEMA_DIR}
        extra = [p for p in SCHEMA_DIR.glob("*.json") if p.name not in known]
        for p in stale + extra:
            print(f"stale schema: {p.relative_to(REPO_ROOT)}", file=sys.stderr)
        if stale or extra:
            print("run `make schema` (parley schema) and commit the result", file=sys.stderr)
            return 1
        print(f"schemas up to date ({len(files)} files)")
    return 0


def _chat(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    from sidecar.cli_chat import chat
    from sidecar.errors import ConfigError

    with tempfile.TemporaryDirectory(prefix="parley-chat-") as tmp:
        try:
            config = _chat_config(args, Path(tmp))
        except ConfigError as exc:
            print(f"parley chat: {exc.message}", file=sys.stderr)
            return 2
        args.sidecar_args = ["--config", str(config)] if config is not None else []
        return asyncio.run(chat(args))


def _chat_config(args: argparse.Namespace, tmp: Path) -> Path | None:
    """The config file the chat's sidecar runs on: `--config` as given, or a one-provider
    chain for `--provider NAME` (a provider of `--config`, else a preset), written to `tmp`.
    Raises ConfigError (unknown provider or preset, bad file)."""
    from sidecar.errors import ConfigError

    if args.provider is None:
        if args.model is not None:
            raise ConfigError("--model needs --provider")
        return args.config  # type: ignore[no-any-return]
    from sidecar.llm.config import config_for_preset, dump_config, load_config
    from sidecar.llm.presets import load_presets

    if args.config is not None:
        base = load_config(args.config)
        if args.provider in base.providers:
            if args.model is not None:
                raise ConfigError("--model applies to a preset --provider; set `model` in the config instead")
            config = base.model_copy(update={"router": base.router.model_copy(update={"chain": [args.provider]})})
        elif args.provider in load_presets():
            config = config_for_preset(args.provider, model=args.model)
        else:
            names = ", ".join(sorted(base.providers))
            raise ConfigError(f"--provider {args.provider}: not in {args.config} ({names}) and not a preset")
    else:
        config = config_for_preset(args.provider, model=args.model)
    path = tmp / "chat.toml"
    path.write_text(dump_config(config), encoding="utf-8")
    return path


def _llm_settings(config: Path | None) -> tuple[LlmSettings, str]:
    """Settings of `config` (keys resolved from env and keyring), or the embedded engine
    alone. Raises ConfigError."""
    from sidecar.llm.config import load_config, resolve
    from sidecar.llm.spec import LlmSettings

    if config is None:
        return LlmSettings(), "no --config: the embedded engine alone answers"
    return resolve(load_config(config), source=str(config)), f"config: {config}"


def _price(price: Price | None) -> str:
    if price is None:
        return "unknown"
    if price.free:
        return "free"
    return f"${price.input:g}/${price.output:g} per 1M" + (f" ({price.date})" if price.date else "")


def _providers(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import logging

    # The table says what the router would log (unusable links, unknown prices).
    logging.getLogger("sidecar.llm").setLevel(logging.ERROR)

    from sidecar.errors import ConfigError
    from sidecar.llm.costs import MemoryLedger
    from sidecar.llm.router import Router

    try:
        settings, origin = _llm_settings(args.config)
    except ConfigError as exc:
        print(f"parley providers: {exc.message}", file=sys.stderr)
        return 2

    async def run() -> int:
        ledger = MemoryLedger()
        async with Router.from_settings(settings, ledger) as router:
            states = router.states()
            if args.action == "list":
                if args.json:
                    print(json.dumps([
                        {"name": s.name, "kind": s.kind, "model": s.model, "state": s.state, "reason": s.reason,
                         "key_source": s.key_source, "paid": s.paid, "price": _price(s.price)}
                        for s in states
                    ], indent=2))
                    return 0
                print(origin)
                rows = [("#", "provider", "kind", "model", "state", "key", "price", "why")]
                for i, s in enumerate(states, 1):
                    key = s.key_source or ("-" if s.kind == "embedded" else "none")
                    price = "free" if s.kind == "embedded" else _price(s.price)
                    rows.append((str(i), s.name, s.kind, s.model, s.state, key, price, s.reason))
                _table(rows)
                return 0
            results = await router.check()
            if args.json:
                print(json.dumps([
                    {"name": r.provider, "ok": r.ok, "latency_ms": round(r.latency_s * 1000, 1), "model": r.model,
                     "code": r.code, "message": r.message, "tokens": list(r.usage)}
                    for r in results
                ], indent=2))
            else:
                print(origin)
                if not results:
                    print("nothing to check: no remote provider in the chain")
                for r in results:
                    if r.ok:
                        print(f"  {r.provider}: ok in {r.latency_s * 1000:.0f} ms "
                              f"(model {r.model}, {r.usage[0]} in / {r.usage[1]} out tokens)")
                    else:
                        print(f"  {r.provider}: FAILED after {r.latency_s * 1000:.0f} ms: {r.code}: {r.message}")
                spent = sum(row.usd for row in ledger.rows)
                if spent:
                    print(f"  (these checks cost about ${spent:.6f})")
            return 0 if all(r.ok for r in results) else 1

    return asyncio.run(run())


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def _history(args: argparse.Namespace) -> int:
    from sidecar import cli_history

    return cli_history.run(args, args.data_dir or default_data_dir())


def _costs(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from sidecar.store.db import DB_FILENAME

    data_dir = args.data_dir or default_data_dir()
    db = data_dir / DB_FILENAME
    if args.days is not None and args.days < 1:
        print("parley costs: --days must be at least 1", file=sys.stderr)
        return 2
    if not db.exists():
        print(f"no costs recorded: {db} does not exist", file=sys.stderr)
        return 0

    async def report() -> CostReport:
        import time

        from sidecar.llm.costs import start_of_local_day
        from sidecar.store.costs import SqliteCostLedger
        from sidecar.store.db import Store

        since = None
        if args.days is not None:
            since = start_of_local_day(time.time() - (args.days - 1) * 86_400)
        store = await Store.open(db)
        try:
            return await SqliteCostLedger(store).report(since=since)
        finally:
            await store.close()

    r = asyncio.run(report())
    if args.json:
        wire = r.to_wire()
        wire["by_day"] = {k: v.to_wire() for k, v in sorted(r.by_day.items())}
        wire["by_persona"] = {k: v.to_wire() for k, v in sorted(r.by_persona.items())}
        wire["estimated_calls"] = r.estimated_calls
        print(json.dumps(wire, indent=2))
        return 0
    print(f"{db}: {r.calls} calls, ${r.total_usd:.6f}"
          + (f" ({r.estimated_calls} with estimated token counts)" if r.estimated_calls else ""))
    for title, buckets in (("day", r.by_day), ("provider", r.by_provider), ("persona", r.by_persona)):
        print(f"by {title}:")
        rows = [(title, "calls", "tokens in", "tokens out", "USD")]
        rows += [
            (k, str(b.calls), str(b.input_tokens), str(b.output_tokens), f"{b.usd:.6f}")
            for k, b in sorted(buckets.items())
        ]
        _table(rows)
    return 0


def _memory(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.cli_memory import show

    data_dir = args.data_dir or default_data_dir()
    return asyncio.run(show(data_dir, args.persona, args.player, args.limit, as_json=args.json))


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.cli_chat import demo

    return asyncio.run(demo(args))


def _bench(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.bench import run_bench

    return asyncio.run(run_bench(args))


__all__ = ["main"]
