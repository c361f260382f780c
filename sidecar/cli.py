"""Command line: `parley serve | chat | demo | validate | schema | bench`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sidecar import PROTOCOL_VERSION, __version__

# Imports are lazy (inside the handlers): `--version` and `validate` stay quick, and `serve`
# pays only for what serving needs.

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO_ROOT / "engine_bindings" / "schema"


def default_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path("parley", appauthor=False)


def default_personas_dir() -> Path:
    return REPO_ROOT / "personas"


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

    c = sub.add_parser("chat", help="talk to an NPC in the terminal (starts its own sidecar)")
    c.add_argument("--persona", default=None)
    c.add_argument("--player", default="player")
    c.add_argument("--data-dir", type=Path, default=None)
    c.add_argument("--personas", type=Path, default=None)
    c.add_argument("--seed", type=int, default=None)

    d = sub.add_parser("demo", help="a scripted conversation with two NPCs through a real sidecar")
    d.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary directory")
    d.add_argument("--personas", type=Path, default=None)
    d.add_argument("--seed", type=int, default=7)

    v = sub.add_parser("validate", help="check persona files; prints file:line: field: message")
    v.add_argument("paths", nargs="*", type=Path)

    sc = sub.add_parser("schema", help="write the JSON Schemas (protocol and persona)")
    sc.add_argument("--check", action="store_true", help="fail if the checked-in schemas are stale")

    b = sub.add_parser("bench", help="measure turn latency and throughput through the real socket")
    b.add_argument("--turns", type=int, default=2000)
    b.add_argument("--conversations", type=int, default=32)
    b.add_argument("--json", action="store_true")
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
    }[args.cmd]
    return int(handler(args) or 0)


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.errors import ParleyError
    from sidecar.server.app import ServeOptions, serve
    from sidecar.server.logs import setup_logging

    data_dir = args.data_dir or default_data_dir()
    setup_logging(args.log_file or data_dir / "logs" / "sidecar.log", args.log_level)
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

    from sidecar.cli_chat import chat

    return asyncio.run(chat(args))


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.cli_chat import demo

    return asyncio.run(demo(args))


def _bench(args: argparse.Namespace) -> int:
    import asyncio

    from sidecar.bench import run_bench

    return asyncio.run(run_bench(args))


__all__ = ["main"]
