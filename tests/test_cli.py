"""The `parley` command as a user runs it (real subprocesses)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sidecar.engine.actions import CUES
from sidecar.personas.loader import load_personas

REPO = Path(__file__).resolve().parent.parent


def _parley(*args: str, timeout: float = 120, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        input=input_text,
    )


def test_version() -> None:
    out = _parley("--version")
    assert out.returncode == 0
    assert re.fullmatch(r"parley \d+\.\d+\.\d+ \(protocol 1\)\n", out.stdout)


def test_validate_sample_personas_passes() -> None:
    out = _parley("validate", "personas")
    assert out.returncode == 0, out.stdout + out.stderr


def test_validate_broken_persona_reports_file_and_line(tmp_path: Path) -> None:
    good = sorted((REPO / "personas").glob("*.toml"))[0]
    broken = tmp_path / "broken.toml"
    text = good.read_text(encoding="utf-8").splitlines()
    idx = next(i for i, line in enumerate(text) if line.startswith("role"))
    text[idx] = "role = 42"
    broken.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = _parley("validate", str(broken))
    assert out.returncode == 1
    assert f"{broken}:{idx + 1}: role: " in out.stdout, out.stdout


def test_schema_is_up_to_date() -> None:
    out = _parley("schema", "--check")
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One `parley demo` for the tests that read it (with its data dir, for `parley memory`)."""
    data = tmp_path_factory.mktemp("demo")
    return _parley("demo", "--data-dir", str(data), timeout=300), data


def test_demo_prints_a_two_npc_conversation(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    out = demo_run[0]
    assert out.returncode == 0, out.stderr
    speakers = re.findall(r"^== (.+?), ", out.stdout, flags=re.M)
    assert len(speakers) == 2 and speakers[0] != speakers[1]
    assert out.stdout.count("Ana: ") >= 4
    assert re.search(r"affinity \d+ \([+-]\d+: ", out.stdout)
    for name in speakers:
        assert re.search(rf"^{re.escape(name)}: \S", out.stdout, flags=re.M)
    assert "shy" in out.stdout and "sarcastic" in out.stdout
    assert out.stdout.count("options: [1] ") >= 4
    assert "goal build_trust completed!" in out.stdout
    assert re.search(r"affinity \d+ \(\+\d+: [^)]*goal build_trust completed\)", out.stdout)


def test_demo_has_a_second_meeting_that_remembers_the_name_and_the_promise(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = demo_run[0]
    assert out.returncode == 0, out.stderr
    _, second = out.stdout.split("== The next day: ", 1)
    greeting = second.splitlines()[1]
    assert re.match(r"^\w+: ", greeting) and "Ana" in greeting and "trout" in greeting, greeting
    assert "kept your promise" in second.lower() or "promise kept" in second.lower()
    assert "The player's name is Ana." in second


def test_demo_shows_a_three_npc_scene_started_by_one_player_line(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = demo_run[0]
    assert out.returncode == 0, out.stderr
    _, scene = out.stdout.split("== A scene in the square: ", 1)
    lines = scene.splitlines()
    said = next(i for i, ln in enumerate(lines) if ln.startswith("Mira: "))
    answers = []
    for ln in lines[said + 1 :]:
        if not (m := re.match(r"^(\w+) \(to (\w+)\): \S", ln)):
            break
        answers.append(m.groups())
    assert [a for a, _ in answers[:3]] == ["Ansel", "Goldie", "Rook"], lines
    assert answers[0][1] == "Goldie" and answers[1][1] == "Rook", "each addresses the next"
    assert re.search(r"\[\d+ NPC lines; first after [\d.]+ ms, all after [\d.]+ ms; affinity Ansel ", scene)


def test_memory_show_lists_what_an_npc_remembers(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    data = demo_run[1]
    out = _parley("memory", "show", "--persona", "ansel", "--player", "Ana", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ansel remembers ")
    assert "The player's name is Ana." in out.stdout and "kept their promise" in out.stdout
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("  [") and not ln.startswith("  [id]")]
    importance = [int(ln.split()[2]) for ln in rows]
    assert importance == sorted(importance, reverse=True), "most important first"
    as_json = _parley("memory", "show", "--persona", "ansel", "--player", "Ana", "--data-dir", str(data), "--json")
    memories = json.loads(as_json.stdout)["memories"]
    assert len(memories) == len(rows) and {m["kind"] for m in memories} >= {"name", "event", "gift"}
    assert all(m["source"] is None or m["source"]["conversation"].startswith("c_") for m in memories)
    nobody = _parley("memory", "show", "--persona", "goldie", "--player", "Ana", "--data-dir", str(data))
    assert nobody.returncode == 0 and "remembers nothing" in nobody.stdout
    bad = _parley("memory", "show", "--persona", "ansel", "--player", "Ana", "--data-dir", str(data), "--limit", "0")
    assert bad.returncode == 2 and "--limit" in bad.stderr


def test_chat_over_stdin() -> None:
    persona = sorted((REPO / "personas").glob("*.toml"))[0].stem
    out = _parley("chat", "--persona", persona, "--seed", "1", input_text="Hello there!\n1\n/quit\n", timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln and not ln.startswith(" ")]
    assert len(lines) >= 4  # greeting, reply, option echo, reply, farewell


def test_chat_with_a_scene_prints_each_npcs_line_and_whom_it_addresses() -> None:
    script = "Hello everyone!\nRook, what do you think of Goldie?\n/quit\n"
    out = _parley("chat", "--scene", "ansel,goldie,rook", "--player-name", "Ana", "--seed", "4",
                  input_text=script, timeout=120)
    assert out.returncode == 0, out.stderr
    said = [ln for ln in out.stdout.splitlines() if " (to " in ln]
    assert [ln.split(" (to ")[0] for ln in said[:3]] == ["Ansel", "Goldie", "Rook"]
    assert all(" (to Ana): " in ln for ln in said[:3]), said[:3]
    assert said[3].startswith("Rook (to ")
    farewells = out.stdout.rstrip().splitlines()[-3:]
    assert [ln.split(":")[0] for ln in farewells] == ["Ansel", "Goldie", "Rook"]
    bad = _parley("chat", "--scene", "ansel,nobody", input_text="", timeout=120)
    assert bad.returncode == 1 and "unknown persona 'nobody'" in bad.stderr


def test_chat_piped_lines_are_not_eaten_by_an_action_prompt() -> None:
    """Piped into `parley chat`, every line after a decided action was asked "y or n?" again
    until the input ran out: now a second line that is neither leaves the action pending and
    is the player's next line."""
    script = "Can you fix my sword?\nTell me about the forge.\nWhat do you think of Goldie?\n/quit\n"
    out = _parley("chat", "--persona", "ansel", "--seed", "3", input_text=script, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("   >> please answer y or n first") == 1
    assert "   >> left pending (actions.pending lists it)" in out.stdout
    after = out.stdout.split("   >> left pending")[1]
    replies = [ln for ln in after.splitlines() if ln.startswith("Ansel: ")]
    assert len(replies) == 2, after  # the answer about Goldie, then the farewell on /quit


def test_chat_shows_a_decided_action_and_the_user_accepts_or_refuses_it() -> None:
    script = (
        "Can you fix my sword?\ny the player paid two coppers\nThanks.\n"
        "Could you sell me a hinge?\nhow much is it?\nno\nOh.\n/quit\n"
    )
    out = _parley("chat", "--persona", "ansel", "--seed", "3", input_text=script, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "   >> Ansel decides: repair_item(price=2, item='sword')" in out.stdout
    assert "   >> done: the player paid two coppers" in out.stdout
    assert "   >> Ansel decides: sell_item(price=3, item='hinge')" in out.stdout
    assert "   >> refused\n" in out.stdout
    # A line that is neither y nor n is asked again, not taken as a refusal.
    assert out.stdout.count("   >> please answer y or n first") == 1
    replies = [ln for ln in out.stdout.splitlines() if ln.startswith("Ansel: ")]
    # The line after each answer reacts to it first, in one sentence: the coin is thanked
    # for; the refused hinge in Ansel's own words for it (no detail was given).
    after_ok = replies[2].removeprefix("Ansel: ")
    after_refusal = replies[4].removeprefix("Ansel: ")
    paid = next(c for c in CUES if c.name == "paid")
    assert any(after_ok.startswith(line + " ") for line in paid.lines), after_ok
    ansel = load_personas(REPO / "personas").personas["ansel"]
    own = ansel.actions["sell_item"].said(False, {"item": "hinge", "price": 3})
    assert any(after_refusal.startswith(line + " ") for line in own), after_refusal
