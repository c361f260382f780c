"""`parley history list | show | search` as a user runs it (real subprocesses, a real store)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "store"))

from history_support import talk  # noqa: E402

from parley_client import Client  # noqa: E402
from sidecar.cli_history import terminal_snippet  # noqa: E402
from sidecar.store import archive  # noqa: E402
from sidecar.store.db import DB_FILENAME, Store  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _parley(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar", "history", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


async def _village(data_dir: Path) -> None:
    store = await Store.open(data_dir / DB_FILENAME, checkpoint_interval=None)
    try:
        await talk(store, "c_smith", lines=["Can you mend my sword?", "Swords are my trade [as you know]."])
        await talk(store, "c_inn", player="tom", persona="goldie", lines=["A room, please.", "Upstairs."])
        await talk(store, "c_later", player="tom", lines=["My sword broke again.", "Bring it here."], ended=False)
        await store.run(archive.archive_one, "c_smith")
    finally:
        await store.close()


async def test_history_search_sword_from_the_terminal(tmp_path: Path) -> None:
    await _village(tmp_path)
    out = _parley("search", "sword", "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 3
    assert any("c_smith #1 (archived)  player: Can you mend my *sword*?" in ln for ln in lines)
    assert any("ansel: *Swords* are my trade [as you know]." in ln for ln in lines)
    as_json = json.loads(_parley("search", "sword", "--player", "tom", "--json", "--data-dir", str(tmp_path)).stdout)
    assert [(h["conversation"], h["seq"]) for h in as_json["hits"]] == [("c_later", 1)]
    nothing = _parley("search", "dragon", "--data-dir", str(tmp_path))
    assert nothing.returncode == 0 and "no lines match 'dragon'" in nothing.stdout
    empty = _parley("search", "  ", "--data-dir", str(tmp_path))
    assert empty.returncode == 2 and "bad_request" in empty.stderr


async def test_history_list_pages_and_show(tmp_path: Path) -> None:
    await _village(tmp_path)
    first = _parley("list", "--limit", "2", "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    rows, more = first.stdout.splitlines()[:2], first.stdout.splitlines()[-1]
    assert "c_later" in rows[0] and "open" in rows[0] and "c_inn" in rows[1] and "ended" in rows[1]
    cursor = more.split("--cursor ")[1].strip("'")
    rest = _parley("list", "--limit", "2", "--cursor", cursor, "--data-dir", str(tmp_path))
    assert rest.stdout.splitlines() == [rest.stdout.splitlines()[0]] and "c_smith" in rest.stdout
    assert "archived" in rest.stdout
    shown = _parley("show", "c_smith", "--before", "2", "--data-dir", str(tmp_path))
    assert shown.stdout.splitlines() == ["   0  Ansel: Welcome, mira.", "   1  mira: Can you mend my sword?"]
    missing = _parley("show", "c_nope", "--data-dir", str(tmp_path))
    assert missing.returncode == 1 and "conversation_not_found" in missing.stderr


def test_no_store_is_no_history(tmp_path: Path) -> None:
    out = _parley("list", "--data-dir", str(tmp_path / "none"))
    assert out.returncode == 0 and "does not exist" in out.stderr
    assert not (tmp_path / "none").exists()


def test_terminal_snippets() -> None:
    assert terminal_snippet("a [b]sword[/b] [lb]x]", tty=False) == "a *sword* [x]"
    assert terminal_snippet("[b]sword[/b]", tty=True) == "\x1b[1msword\x1b[0m"


async def test_history_reads_a_store_a_sidecar_is_serving(client: Client, data_dir: Path) -> None:
    started = await client.call("conversation.start", {"persona": "ansel", "player": "mira", "seed": 3})
    cid = started["conversation"]
    await client.call("conversation.say", {"conversation": cid, "text": "Can you mend my sword?"})
    out = _parley("search", "sword", "--player", "mira", "--json", "--data-dir", str(data_dir))
    assert out.returncode == 0, out.stderr
    assert (cid, 1) in {(h["conversation"], h["seq"]) for h in json.loads(out.stdout)["hits"]}
    said = await client.call("conversation.say", {"conversation": cid, "text": "Thank you."})  # the sidecar goes on
    assert said["line"]["text"]
    assert [h["seq"] for h in (await client.call("conversation.history", {"conversation": cid}))["lines"]] == [
        0,
        1,
        2,
        3,
        4,
    ]
