"""A corpus of hostile persona files, written into a folder at test time (nothing big is
committed): each `Case` attacks one way a persona file can hurt the sidecar, and says the one
problem the loader must report for it (`file:line: field: message`).

What the cases attack: the TOML parser's recursion (deep arrays, deep inline tables, long
dotted keys and headers), time and memory (a 50 MB file, 100,000 empty tables, and the
"bombs" under the size limit: many tables, keys, array elements, long strings and numbers),
the reader (invalid UTF-8, a BOM, NUL bytes, a FIFO that would block a plain `open`, a folder
named `x.toml`, links out of the folder, a link loop), the log (a file with thousands of
schema errors) and the folder (more persona files than the limit, in `write_crowd`).

TOML has no references, so there is no "billion laughs": its bombs are sheer size and depth.
The cases are sized from `LIMITS`, one step past each limit, so they stay hostile if a limit
moves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sidecar.personas.limits import LIMITS

HINT = 'see "Size limits" in personas/README.md'
BOMB_LINE = 8  # the line after `preamble`, where every bomb starts


def preamble(pid: str) -> str:
    """A valid persona head (7 lines), so that a bomb below it is found at its own line."""
    return (
        "#:schema persona.schema.json\n"
        f'id = "{pid}"\n'
        f'name = "{pid.replace("_", " ").title()} of the corpus"\n'
        'role = "a hostile test file"\n'
        'bio = "Written by tests/personas/hostile_corpus.py."\n'
        'greetings = ["Hello."]\n'
        'farewells = ["Bye."]\n'
    )


@dataclass(frozen=True)
class Case:
    """One hostile entry of the personas folder and the problem it must cost.

    `expected` is formatted with `file` (the entry's path), `folder` (the personas folder,
    resolved) and `outside` (the resolved target of a link out of it). `exact` False means
    the problem must only start with it (the OS words the end, e.g. for a link loop).
    """

    name: str
    write: Callable[[Path], None]
    expected: str
    exact: bool = True


def _text(body: str | Callable[[], str]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        text = body() if callable(body) else body
        path.write_text(preamble(path.stem) + text, encoding="utf-8")

    return write


def _bytes(body: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(body)

    return write


def _fifty_megabytes(path: Path) -> None:
    block = ("# padding " + "x" * 90 + "\n").encode() * 10_000  # 1,010,000 bytes
    with path.open("wb") as f:
        f.write(preamble(path.stem).encode())
        for _ in range(52):
            f.write(block)


def _empty_tables(path: Path) -> None:
    path.write_text(preamble(path.stem) + "".join(f"[t{i}]\n" for i in range(100_000)), encoding="utf-8")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inside.toml").write_text(preamble("inside"), encoding="utf-8")


def _link_out(path: Path) -> None:
    """A link to a valid persona just outside the folder: it would load if followed."""
    target = path.parent.parent / "outside" / "stranger.toml"
    target.parent.mkdir(exist_ok=True)
    target.write_text(preamble("stranger"), encoding="utf-8")
    path.symlink_to(target)


def _link_up(path: Path) -> None:
    """A relative link that climbs out (`../outside/…`) rather than an absolute one."""
    target = path.parent.parent / "outside" / "climber.toml"
    target.parent.mkdir(exist_ok=True)
    target.write_text(preamble("climber"), encoding="utf-8")
    path.symlink_to(Path("..") / "outside" / "climber.toml")


def _link_loop(path: Path) -> None:
    path.symlink_to(path.name)


MANY = 4_000


def _many_problems() -> str:
    # 4,000 opinions that are not strings: each one a schema error, far past the cap.
    return "[opinions]\n" + "".join(f"o{i} = {i}\n" for i in range(MANY))


L = LIMITS
DEEP = 500  # what the adversarial run used: 1 KB that made tomllib recurse out of the stack
LIMIT = f"{{file}}:{BOMB_LINE}: limit: "

CASES: tuple[Case, ...] = (
    Case(
        "deep_arrays.toml",
        _text("x = " + "[" * DEEP + "]" * DEEP + "\n"),
        LIMIT + f"nested more than {L.depth} levels deep; {HINT}",
    ),
    Case(
        "deep_inline_tables.toml",
        _text("x = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n"),
        LIMIT + f"nested more than {L.depth} levels deep; {HINT}",
    ),
    Case(
        "deep_mixed.toml",
        _text("x = " + "[{a = " * DEEP + "1" + "}]" * DEEP + "\n"),
        LIMIT + f"nested more than {L.depth} levels deep; {HINT}",
    ),
    Case(
        "dotted_key.toml",
        _text(".".join(["a"] * 20_000) + " = 1\n"),
        LIMIT + f"nested more than {L.depth} levels deep; {HINT}",
    ),
    Case(
        "dotted_header.toml",
        _text("[" + ".".join(["a"] * 20_000) + "]\n"),
        LIMIT + f"nested more than {L.depth} levels deep; {HINT}",
    ),
    Case(
        "fifty_megabytes.toml",
        _fifty_megabytes,
        f"{{file}}:1: file: the file is {len(preamble('fifty_megabytes').encode()) + 52 * 1_010_000:,} bytes; "
        f"a persona file may be at most {L.file_bytes:,} bytes ({L.file_bytes // 1024} KiB)",
    ),
    Case(
        "empty_tables.toml",
        _empty_tables,
        f"{{file}}:1: file: the file is "
        f"{len(preamble('empty_tables').encode()) + sum(len(f'[t{i}]') + 1 for i in range(100_000)):,} bytes; "
        f"a persona file may be at most {L.file_bytes:,} bytes ({L.file_bytes // 1024} KiB)",
    ),
    Case(
        "many_tables.toml",
        _text("".join(f"[t{i}]\n" for i in range(L.tables + 1))),
        f"{{file}}:{BOMB_LINE + L.tables}: limit: "
        f"more than {L.tables:,} tables ([headers] and {{{{ inline tables }}}}); {HINT}",
    ),
    Case(
        "many_inline_tables.toml",
        _text("x = [" + ", ".join(["{}"] * (L.tables + 1)) + "]\n"),
        LIMIT + f"more than {L.tables:,} tables ([headers] and {{{{ inline tables }}}}); {HINT}",
    ),
    Case(
        "many_keys.toml",
        _text("[k]\n" + "".join(f"k{i} = 1\n" for i in range(L.keys + 1))),
        # 6 keys in the preamble, then the header on BOMB_LINE
        f"{{file}}:{BOMB_LINE + L.keys - 6 + 1}: limit: more than {L.keys:,} keys; {HINT}",
    ),
    Case(
        "dotted_keys_fan_out.toml",
        _text("".join(f"a.b{i}.c = 1\n" for i in range(L.keys + 1))),
        f"{{file}}:{BOMB_LINE + L.keys - 6}: limit: more than {L.keys:,} keys; {HINT}",
    ),
    Case(
        "long_array.toml",
        _text("x = [" + "1," * (L.array_elements + 1) + "]\n"),
        LIMIT + f"more than {L.array_elements:,} array elements; {HINT}",
    ),
    Case(
        "long_string.toml",
        _text('x = "' + "a" * (L.file_bytes // 2) + '"\n'),
        LIMIT + f"a string of more than {L.string_chars:,} characters; {HINT}",
    ),
    Case(
        "long_multiline_string.toml",
        _text("x = '''\n" + ("b" * 99 + "\n") * (L.file_bytes // 200) + "'''\n"),
        LIMIT + f"a string of more than {L.string_chars:,} characters; {HINT}",
    ),
    Case(
        "huge_number.toml",
        _text("x = 1" + "0" * 5_000 + "\n"),
        LIMIT + f"a number, date or bare key of 5,001 characters (at most {L.word_chars} outside quotes); {HINT}",
    ),
    Case(
        "huge_hex_number.toml",
        _text("x = 0x" + "f" * 5_000 + "\n"),
        LIMIT + f"a number, date or bare key of 5,002 characters (at most {L.word_chars} outside quotes); {HINT}",
    ),
    Case(
        "many_lines.toml",
        _text("\n" * L.lines),
        f"{{file}}:{L.lines + 1}: limit: more than {L.lines:,} lines; {HINT}",
    ),
    Case(
        "many_problems.toml",
        _text(_many_problems),
        f"{{file}}:{BOMB_LINE + 1 + L.problems_per_file}: file: and {MANY - L.problems_per_file:,} more problem(s) "
        "in this file from here on; fix the ones above first",
    ),
    Case(
        "invalid_utf8.toml",
        _bytes(preamble("invalid_utf8").encode() + b'facts = ["caf\xe9 \xff\xfe"]\n'),
        f"{{file}}:{BOMB_LINE}: file: not UTF-8 text (TOML files must be UTF-8)",
    ),
    Case(
        "bom.toml",
        _bytes(b"\xef\xbb\xbf" + preamble("bom").encode()),
        "{file}:1: file: starts with a byte-order mark (BOM); save it as UTF-8 without BOM",
    ),
    Case(
        "nul_bytes.toml",
        _bytes(preamble("nul_bytes").encode() + b'facts = ["a\x00b"]\n'),
        f"{{file}}:{BOMB_LINE}: toml: Illegal character '\\x00' (column 12)",
    ),
    Case("fifo.toml", _fifo, "{file}:1: file: cannot read: not a regular file (a pipe, socket or device)"),
    Case("folder.toml", _folder, "{file}:1: file: cannot read: a folder, not a file"),
    Case(
        "link_out.toml",
        _link_out,
        "{file}:1: file: cannot read: it links to {outside}/stranger.toml, outside the personas folder {folder}",
    ),
    Case(
        "link_up.toml",
        _link_up,
        "{file}:1: file: cannot read: it links to {outside}/climber.toml, outside the personas folder {folder}",
    ),
    Case("link_loop.toml", _link_loop, "{file}:1: file: cannot read: ", exact=False),
)


def write_corpus(folder: Path) -> dict[Path, Case]:
    """Write every case into `folder` (made if missing); returns each entry's path → case.

    Links out point into `folder/../outside`, so give this a folder of its own.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, Case] = {}
    for case in CASES:
        path = folder / case.name
        case.write(path)
        written[path] = case
    return written


def expected_problem(path: Path, case: Case) -> str:
    """The problem `case` must cost, for its entry at `path`."""
    return case.expected.format(
        file=path,
        folder=path.parent.resolve(),
        outside=(path.parent.parent / "outside").resolve(),
    )


def crowd_persona(i: int) -> str:
    pid = f"zz_crowd_{i:05d}"
    return (
        f'id = "{pid}"\nname = "Crowd {i}"\nrole = "one of many"\nbio = "One of a crowd."\n'
        'greetings = ["Hello."]\nfarewells = ["Bye."]\n'
    )


def write_crowd(folder: Path, count: int = LIMITS.files + 1) -> list[Path]:
    """`count` valid little personas named `zz_crowd_NNNNN.toml` (after the samples by name):
    one past `LIMITS.files` by default, so exactly the last one is left out."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"zz_crowd_{i:05d}.toml"
        path.write_text(crowd_persona(i), encoding="utf-8")
        paths.append(path)
    return paths


def crowd_problem(folder: Path, paths: list[Path]) -> str:
    """The one problem a crowd of `paths` (sorted, past the limit) must cost, alone in `folder`."""
    left = paths[LIMITS.files :]
    return (
        f"{left[0]}:1: file: not read: {len(paths):,} persona files in {folder}, more than "
        f"{LIMITS.files:,}; this one and the {len(left) - 1:,} after it (by name) were left out"
    )


__all__ = [
    "BOMB_LINE",
    "CASES",
    "Case",
    "crowd_problem",
    "expected_problem",
    "preamble",
    "write_corpus",
    "write_crowd",
]
