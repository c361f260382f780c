"""Hostile persona files (issue 10, findings 1 and 2): each costs that file and one located
problem, never the sidecar, the other personas or a traceback. The corpus is written at test
time by `hostile_corpus.py`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq.asyncio
from hostile_corpus import (
    BOMB_LINE,
    CASES,
    Case,
    crowd_problem,
    expected_problem,
    preamble,
    write_corpus,
    write_crowd,
)

from parley_client import Client, Sidecar
from sidecar.personas.limits import LIMITS, Limits
from sidecar.personas.loader import PersonaSet, Problem, load_personas, validate_paths

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "personas"
SAMPLE_IDS = sorted(p.stem for p in SAMPLES.glob("*.toml"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Case]:
    return write_corpus(tmp_path_factory.mktemp("hostile") / "personas")


@pytest.fixture(scope="module")
def loaded(corpus: dict[Path, Case]) -> PersonaSet:
    return load_personas(next(iter(corpus)).parent)


def _by_file(problems: tuple[Problem, ...] | list[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.file, []).append(str(p))
    return out


def _assert_case(path: Path, case: Case, got: list[str]) -> None:
    want = expected_problem(path, case)
    if case.name == "many_problems.toml":  # the cap: the first N, then one that counts the rest
        assert len(got) == LIMITS.problems_per_file + 1, got[-3:]
        assert got[-1] == want
        return
    assert len(got) == 1, got[:3]
    if case.exact:
        assert got[0] == want
    else:
        assert got[0].startswith(want) and len(got[0]) > len(want)


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_each_hostile_file_costs_one_located_problem(
    corpus: dict[Path, Case], loaded: PersonaSet, name: str
) -> None:
    path = next(p for p, c in corpus.items() if c.name == name)
    _assert_case(path, corpus[path], _by_file(loaded.problems).get(str(path), []))


def test_nothing_in_the_corpus_loads_and_every_problem_is_an_error(
    corpus: dict[Path, Case], loaded: PersonaSet
) -> None:
    assert len(loaded) == 0
    assert {Path(p.file) for p in loaded.problems} == set(corpus)
    assert all(p.severity == "error" for p in loaded.problems)
    # what a followed link, or a folder's contents, would have loaded
    assert "stranger" not in loaded and "climber" not in loaded and "inside" not in loaded


def test_the_corpus_beside_the_samples_costs_only_the_hostile_files(tmp_path: Path) -> None:
    folder = tmp_path / "personas"
    corpus = write_corpus(folder)
    for sample in SAMPLES.glob("*.toml"):
        shutil.copy(sample, folder / sample.name)
    loaded = load_personas(folder)
    assert sorted(loaded.personas) == SAMPLE_IDS
    assert {Path(p.file) for p in loaded.problems} == set(corpus)


def test_the_parser_is_still_guarded_when_the_pre_scan_lets_a_file_through(tmp_path: Path) -> None:
    """The last line of defence: with the limits lifted, what tomllib raises (RecursionError,
    ValueError from int()) is still one problem for that file."""
    lifted = Limits(depth=10**9, word_chars=10**9)
    (tmp_path / "deep.toml").write_text(preamble("deep") + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "digits.toml").write_text(preamble("digits") + "x = 1" + "0" * 5000 + "\n")
    shutil.copy(SAMPLES / "ansel.toml", tmp_path / "ansel.toml")
    loaded = load_personas(tmp_path, limits=lifted)
    assert list(loaded.personas) == ["ansel"]
    errors = _by_file(loaded.errors)
    assert errors[str(tmp_path / "deep.toml")] == [
        f"{tmp_path / 'deep.toml'}:1: toml: nested too deeply for the TOML parser"
    ]
    [digits] = errors[str(tmp_path / "digits.toml")]
    assert digits.startswith(f"{tmp_path / 'digits.toml'}:1: toml: cannot be parsed: ValueError: Exceeds the limit")


def test_more_persona_files_than_the_limit_reads_the_first_ones_by_name(tmp_path: Path) -> None:
    crowd = write_crowd(tmp_path / "crowd")
    loaded = load_personas(tmp_path / "crowd")
    assert len(loaded) == LIMITS.files
    assert sorted(loaded.personas) == [p.stem for p in crowd[: LIMITS.files]]
    assert [str(p) for p in loaded.problems] == [crowd_problem(tmp_path / "crowd", crowd)]


def test_a_small_limit_applies_the_same_way(tmp_path: Path) -> None:
    """The cap on files also holds for validate_paths, and counts files, not good ones."""
    crowd = write_crowd(tmp_path, 7)
    problems = validate_paths([tmp_path], limits=Limits(files=5))
    assert [str(p) for p in problems] == [
        f"{crowd[5]}:1: file: not read: 7 persona files in {tmp_path}, more than 5; "
        "this one and the 1 after it (by name) were left out"
    ]


def test_links_inside_the_folder_are_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    shutil.copy(SAMPLES / "ansel.toml", tmp_path / "real" / "ansel.toml")
    (tmp_path / "ansel.toml").symlink_to(Path("real") / "ansel.toml")
    loaded = load_personas(tmp_path)
    assert list(loaded.personas) == ["ansel"]
    assert not loaded.errors


def test_named_files_are_held_to_the_same_rules(corpus: dict[Path, Case]) -> None:
    picked = [p for p, c in corpus.items() if c.name in {"fifo.toml", "link_out.toml", "deep_arrays.toml"}]
    problems = _by_file(validate_paths(picked))
    assert set(problems) == {str(p) for p in picked}
    for path in picked:
        _assert_case(path, corpus[path], problems[str(path)])


# -- the samples are far inside the limits ------------------------------------------------


def test_the_samples_are_far_inside_every_limit() -> None:
    """The limits are meant to be out of any real persona's reach: at least 10 times what
    the biggest sample needs (the numbers are in personas/README.md)."""
    tenth = Limits(
        file_bytes=LIMITS.file_bytes // 10,
        lines=LIMITS.lines // 10,
        # The format's deepest value, an action argument's enum value
        # (actions.x.arguments.properties.y.enum[i]), is at depth 7.
        depth=LIMITS.depth // 2,
        tables=LIMITS.tables // 10,
        keys=LIMITS.keys // 10,
        array_elements=LIMITS.array_elements // 10,
        string_chars=LIMITS.string_chars // 10,
        word_chars=LIMITS.word_chars // 10,
    )
    assert [str(p) for p in validate_paths([SAMPLES], limits=tenth)] == []


# -- through the real command line and a real sidecar --------------------------------------


def test_parley_validate_reports_every_hostile_file_without_a_traceback(
    corpus: dict[Path, Case], tmp_path: Path
) -> None:
    folder = next(iter(corpus)).parent
    crowd = write_crowd(tmp_path / "crowd")
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "validate", str(folder), str(tmp_path / "crowd")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    got = _by_file([_parse_line(line) for line in done.stdout.splitlines()])
    assert set(got) == {str(p) for p in corpus} | {str(crowd[LIMITS.files])}
    for path, case in corpus.items():
        _assert_case(path, case, got[str(path)])
    assert got[str(crowd[LIMITS.files])] == [crowd_problem(tmp_path / "crowd", crowd)]


def _parse_line(line: str) -> Problem:
    """A printed `file:line: field: message` back into a Problem (paths hold no ': ')."""
    head, field, message = line.split(": ", 2)
    file, _, number = head.rpartition(":")
    return Problem(file, int(number), field, message)


@pytest.fixture
def hostile_sidecar(tmp_path: Path) -> Iterator[tuple[Sidecar, int]]:
    """A real `parley serve` on every hostile case, a crowd past the file limit, and the
    samples; yields it with the number of crowd personas it can load."""
    folder = tmp_path / "personas"
    write_corpus(folder)
    for sample in SAMPLES.glob("*.toml"):
        shutil.copy(sample, folder / sample.name)
    write_crowd(folder)  # named zz_…: the samples and the corpus come first by name
    crowd_loaded = LIMITS.files - len(CASES) - len(SAMPLE_IDS)
    data = tmp_path / "data"
    data.mkdir()
    proc = Sidecar(data, folder).start()  # raises SidecarFailed without its ready line
    try:
        yield proc, crowd_loaded
    finally:
        proc.stop()


async def test_parley_serve_on_the_corpus_serves_the_sample_npcs(hostile_sidecar: tuple[Sidecar, int]) -> None:
    proc, crowd_loaded = hostile_sidecar
    assert proc.ready["event"] == "ready"
    ctx = zmq.asyncio.Context()
    try:
        async with Client(proc.endpoint, proc.token, context=ctx) as client:
            counts = (await client.call("server.info"))["counts"]
            assert counts["personas"] == len(SAMPLE_IDS) + crowd_loaded
            per_case = sum(LIMITS.problems_per_file + 1 if c.name == "many_problems.toml" else 1 for c in CASES)
            assert counts["persona_problems"] == per_case + 1  # and one for the crowd left out
            listed = {p["id"] for p in (await client.call("persona.list"))["personas"]}
            assert set(SAMPLE_IDS) <= listed and not {"stranger", "climber", "inside"} & listed
            start = await client.call("conversation.start", {"persona": "ansel", "player": "ana", "seed": 3})
            reply = await client.call(
                "conversation.say", {"conversation": start["conversation"], "text": "Is the forge hot today?"}
            )
            assert reply["line"]["text"]
    finally:
        ctx.destroy(linger=0)
    assert "Traceback" not in proc.stderr_text()


def test_bomb_line_is_the_line_after_the_preamble() -> None:
    assert preamble("x").count("\n") == BOMB_LINE - 1
