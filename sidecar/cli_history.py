"""`parley history list | show | search`: a data dir's history from the terminal.

Reads the store file directly, read-only (the sidecar may be running: WAL lets a reader in
beside it), through the same store functions and the same argument models as the protocol's
`conversation.list`, `conversation.history` and `history.search`, so a query or a cursor
means here what it means to the game.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

# The store and the protocol models are imported when a history command runs, not when the
# parser is built: `parley --version` and `parley validate` stay quick.
_BOLD = re.compile(r"\[b\](.*?)\[/b\]")


def add_parser(sub: Any) -> None:
    """The `history` subcommand and its three actions (called by sidecar/cli.py)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=None)
    common.add_argument("--json", action="store_true", help="print the protocol's result shape as JSON")
    h = sub.add_parser("history", help="conversations and lines of a data dir: list, show one, search")
    acts = h.add_subparsers(dest="action", required=True)
    ls = acts.add_parser("list", parents=[common], help="conversations, newest first")
    ls.add_argument("--player", default=None)
    ls.add_argument("--persona", default=None)
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--cursor", default=None, help="the cursor the previous page printed")
    sh = acts.add_parser("show", parents=[common], help="one conversation's lines")
    sh.add_argument("conversation")
    sh.add_argument("--limit", type=int, default=None, help="the newest N lines")
    sh.add_argument("--before", type=int, default=None, help="only lines before this seq")
    se = acts.add_parser("search", parents=[common], help="lines holding every word of QUERY, best first")
    se.add_argument("query")
    se.add_argument("--player", default=None)
    se.add_argument("--persona", default=None)
    se.add_argument("--limit", type=int, default=20)


def run(args: argparse.Namespace, data_dir: Path, out: TextIO = sys.stdout) -> int:
    import apsw
    from pydantic import ValidationError

    from sidecar.errors import ParleyError
    from sidecar.store.db import DB_FILENAME
    from sidecar.store.migrations import SCHEMA_VERSION

    db = data_dir / DB_FILENAME
    if not db.exists():
        print(f"no history: {db} does not exist", file=sys.stderr)
        return 0
    action: Callable[[Any, argparse.Namespace, TextIO], None] = {"list": _list, "show": _show, "search": _search}[
        args.action
    ]
    # Read-only: a sidecar may be serving this store, and a reader beside it takes no lock a
    # turn needs (opening a `Store` would migrate, and checkpoint on close).
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        version = conn.execute("PRAGMA user_version").fetchall()[0][0]
        if version != SCHEMA_VERSION:
            print(
                f"parley history: {db} has schema version {version}, this parley reads {SCHEMA_VERSION}:"
                " start the sidecar on it once to migrate it (or upgrade parley)",
                file=sys.stderr,
            )
            return 1
        action(conn, args, out)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in exc.errors())
        print(f"parley history {args.action}: bad_request: {problems}", file=sys.stderr)
        return 2
    except ParleyError as exc:
        print(f"parley history {args.action}: {exc.code.value}: {exc.message}", file=sys.stderr)
        return 1
    except apsw.Error as exc:
        print(f"parley history {args.action}: store_error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    return 0


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _list(conn: Any, args: argparse.Namespace, out: TextIO) -> None:
    from sidecar.protocol import history as H
    from sidecar.store import history

    a = H.ConversationListArgs.model_validate(
        {
            k: v
            for k, v in {
                "player": args.player,
                "persona": args.persona,
                "limit": args.limit,
                "cursor": args.cursor,
            }.items()
            if v is not None
        }
    )
    page = history.list_conversations(conn, player=a.player, persona=a.persona, limit=a.limit, cursor=a.cursor)
    if args.json:
        print(
            json.dumps({"conversations": [asdict(c) for c in page.conversations], "cursor": page.cursor}, indent=2),
            file=out,
        )
        return
    for c in page.conversations:
        state = "archived" if c.archived else "ended" if c.ended else "open"
        print(
            f"{_when(c.updated_at)}  {c.conversation}  {c.persona:<10} {c.player:<16} {c.lines:>5} lines"
            f"  {state}{'' if c.kind == 'conversation' else '  ' + c.kind}",
            file=out,
        )
    if not page.conversations:
        print("no conversations", file=out)
    if page.cursor:
        print(f"more: parley history list --cursor '{page.cursor}'", file=out)


def _show(conn: Any, args: argparse.Namespace, out: TextIO) -> None:
    from sidecar.errors import ConversationNotFound
    from sidecar.protocol import ops as P
    from sidecar.store import history

    a = P.HistoryArgs.model_validate(
        {
            k: v
            for k, v in {"conversation": args.conversation, "limit": args.limit, "before": args.before}.items()
            if v is not None
        }
    )
    if not history.exists(conn, a.conversation):
        raise ConversationNotFound(f"no conversation {a.conversation!r}", details={"conversation": a.conversation})
    rows = history.lines(conn, a.conversation, limit=a.limit, before=a.before)
    if args.json:
        print(
            json.dumps(
                {
                    "lines": [
                        {"seq": r.seq, "speaker": r.speaker, "name": r.name, "text": r.text, "at": r.at} for r in rows
                    ]
                },
                indent=2,
            ),
            file=out,
        )
        return
    for r in rows:
        print(f"{r.seq:>4}  {r.name}: {r.text}", file=out)


def terminal_snippet(snippet: str, *, tty: bool) -> str:
    """A hit's BBCode snippet for a terminal: bold as ANSI on a tty, else `*word*`."""
    bold = _BOLD.sub(lambda m: f"\x1b[1m{m.group(1)}\x1b[0m" if tty else f"*{m.group(1)}*", snippet)
    return bold.replace("[lb]", "[")


def _search(conn: Any, args: argparse.Namespace, out: TextIO) -> None:
    from sidecar.protocol import history as H
    from sidecar.store import history

    a = H.SearchArgs.model_validate(
        {
            k: v
            for k, v in {
                "query": args.query,
                "persona": args.persona,
                "player": args.player,
                "limit": args.limit,
            }.items()
            if v is not None
        }
    )
    hits = history.search(conn, a.query, persona=a.persona, player=a.player, limit=a.limit)
    if args.json:
        print(json.dumps({"hits": [asdict(h) for h in hits]}, indent=2), file=out)
        return
    tty = out.isatty()
    for h in hits:
        where = f"{h.conversation} #{h.seq}" + (" (archived)" if h.archived else "")
        print(f"{_when(h.at)}  {where}  {h.speaker}: {terminal_snippet(h.snippet, tty=tty)}", file=out)
    if not hits:
        print(f"no lines match {a.query!r}", file=out)


__all__ = ["add_parser", "run", "terminal_snippet"]
