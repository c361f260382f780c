"""Loading persona files, with every problem reported as `file:line: field: message`.

Persona files are written by hand by modders, so the loader's job is as much to explain as
to parse: `tomllib` finds syntax errors, the pydantic model in `model.py` finds schema errors,
`locate.scan` turns pydantic's key paths into line numbers, and a set of files is checked
together for clashes (the same id, or the same name claimed by two NPCs).

A broken file never stops the others from loading: `load_personas` keeps every persona it
could load and lists the problems of the rest. Errors keep a persona out; warnings do not.

A file may also be hostile (a mod is code-free but not harmless), so the cost of one file is
bounded before anything parses it, by the limits in `limits.py`: a file is read only if it is
a regular file whose real path (links resolved) is inside the personas folder and whose size
is within `Limits.file_bytes`, opened without blocking (a FIFO would otherwise wait for a
writer forever); its text is pre-scanned for depth and counts before `tomllib` (which recurses)
sees it; anything the parser still raises becomes a problem; at most
`Limits.problems_per_file` problems are reported per file, and a folder is read up to
`Limits.files` files. Each refusal is one located problem, and costs only that file.
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import re
import stat
import sys
import tomllib
import types
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sidecar.engine.text import straight
from sidecar.errors import ConfigError, PersonaInvalid, PersonaNotFound
from sidecar.personas.limits import LIMITS, Limits, first_excess
from sidecar.personas.locate import KeyLines, PathPart, scan
from sidecar.personas.model import PERSONA_ID, UNION_TAGS, Persona

Severity = Literal["error", "warning"]
SCHEMA_FILENAME = "persona.schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"^(?P<msg>.*?)\s*\(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$")
_SCALAR_TYPES = (str, int, float, bool)
# pydantic speaks Python; modders read TOML.
_TOML_TERMS = {
    "a valid dictionary": "a table ([header] or { key = value })",
    "a valid list": "an array ([ ... ])",
    "List should": "Array should",
}
_TOML_WORDS = re.compile(r"a valid dictionary(?: or instance of \w+)?|a valid list|List should")
_NO_GOT = {
    "missing",
    "extra_forbidden",
    "value_error",
    "string_too_long",
    "string_too_short",
    "too_long",
    "too_short",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a persona file, located for a human to fix.

    `str(problem)` is exactly `file:line: field: message` (the format compilers use, so
    editors can jump to it). `line` is 1-based. `field` is the key path (`topics.rain.lines[2]`),
    `toml` for syntax errors, `file` when the file itself cannot be read.
    """

    file: str
    line: int
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for `PersonaInvalid.details` and the wire)."""
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


# -- one file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    persona: Persona | None
    problems: tuple[Problem, ...]
    located: str = ""
    """The text `keys` locates paths in ("" when the text was refused by the limits: a
    text past them is never scanned)."""

    @cached_property
    def keys(self) -> KeyLines:
        """Where each key path is defined. Scanned on first use: a valid file needs lines
        only for a warning or a clash, and the scan costs more than `tomllib` does."""
        return scan(self.located)


def _parse(text: str, file: str, limits: Limits = LIMITS) -> _Parsed:
    """Parse and validate one persona text; never raises.

    The pre-scan runs first so that `scan`, `tomllib` and pydantic only ever see text within
    the limits. The broad `except`s are the last line behind it: whatever a parser raises on
    a text (RecursionError, ValueError from int(), MemoryError) costs this file, not the set.
    """
    excess = first_excess(text, limits)
    if excess is not None:
        return _Parsed(None, (Problem(file, excess.line, "limit", excess.message),))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return _Parsed(None, (_syntax_problem(exc, text, file, scan(text)),), text)
    except RecursionError:
        return _Parsed(None, (Problem(file, 1, "toml", "nested too deeply for the TOML parser"),), text)
    except Exception as exc:  # any other parser failure is this file's problem too
        return _Parsed(None, (Problem(file, 1, "toml", f"cannot be parsed: {_describe(exc)}"),), text)
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        errors = _drop_missing_explained_by_typos(_untagged(exc.errors(include_url=False)))
        return _Parsed(None, _schema_problems(errors, file, scan(text), limits), text)
    except Exception as exc:  # as above, for the schema's validators
        return _Parsed(None, (Problem(file, 1, "(persona)", f"cannot be checked: {_describe(exc)}"),), text)
    return _Parsed(persona, (), text)


def _describe(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _schema_problems(
    errors: Sequence[Mapping[str, Any]], file: str, keys: KeyLines, limits: Limits
) -> tuple[Problem, ...]:
    """Pydantic's errors as problems in line order: the first `limits.problems_per_file`
    of them, and one more that counts the rest (a file of 4,000 mistakes must not become
    4,000 log lines, nor cost 4,000 messages nobody reads)."""
    ordered = sorted(errors, key=lambda err: keys.line_of(_error_path(err)))
    shown: dict[Problem, None] = {}
    for n, err in enumerate(ordered):
        if len(shown) == limits.problems_per_file:
            rest = {(tuple(e.get("loc", ())), e.get("type"), e.get("msg")) for e in ordered[n:]}
            line = keys.line_of(_error_path(err))
            more = f"and {len(rest):,} more problem(s) in this file from here on; fix the ones above first"
            return (*shown, Problem(file, line, "file", more))
        shown.setdefault(_schema_problem(err, file, keys))
    return tuple(shown)


def _error_path(err: Mapping[str, Any]) -> tuple[PathPart, ...]:
    """The key path a pydantic error is about (a bad key is reported at its table)."""
    loc: tuple[PathPart, ...] = tuple(err.get("loc", ()))
    return loc[:-1] if loc and loc[-1] == "[key]" else loc


def _untagged(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The errors with the tag of a line-or-table choice (`UNION_TAGS`) taken out of their
    key paths: `speech.catchphrases[0].table.topic` is `speech.catchphrases[0].topic` in the
    file, and only that path has a line and field names to suggest."""
    out: list[Mapping[str, Any]] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        kept = tuple(p for i, p in enumerate(loc)
                     if not (p in UNION_TAGS and i > 0 and isinstance(loc[i - 1], int)))
        out.append(err if kept == loc else {**err, "loc": kept})
    return out


def _drop_missing_explained_by_typos(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """`greeting = […]` yields "greetings missing" *and* "greeting unknown; did you mean
    'greetings'?". The second says it all, at the right line, so the first is dropped."""
    explained: set[tuple[PathPart, ...]] = set()
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "extra_forbidden" and loc:
            guess = difflib.get_close_matches(str(loc[-1]), _fields_at(loc[:-1]), n=1)
            if guess:
                explained.add((*loc[:-1], guess[0]))
    return [e for e in errors if not (e.get("type") == "missing" and tuple(e.get("loc", ())) in explained)]


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str, file: str, keys: KeyLines) -> Problem:
    raw = " ".join(str(exc).split())
    m = _TOML_POSITION.match(raw)
    if m is None:
        return Problem(file, 1, "toml", raw)
    if m.group("line"):
        return Problem(file, int(m.group("line")), "toml", f"{m.group('msg')} (column {m.group('col')})")
    # "at end of document": point at what was left open, or at the last line
    if keys.unclosed is not None:
        return Problem(
            file,
            keys.unclosed,
            "toml",
            f"{m.group('msg')}: a value opened on this line is never closed",
        )
    last = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
    return Problem(file, last, "toml", f"{m.group('msg')} at the end of the file")


def _schema_problem(err: Mapping[str, Any], file: str, keys: KeyLines) -> Problem:
    loc: tuple[PathPart, ...] = tuple(err.get("loc", ()))
    is_key = bool(loc) and loc[-1] == "[key]"
    path = _error_path(err)
    kind = str(err.get("type", ""))
    line = keys.line_of(path)
    label = _label(path)
    message = _message(err, "key_" + kind if is_key else kind, path)
    if is_key and path:
        message = f"key {path[-1]!r}: {message}"
    elif _misplaced_top_level(path, kind, err.get("input")):
        if kind == "extra_forbidden":
            message = "unknown field in this table"
        message = (
            f"{message}; {path[-1]!r} is a top-level field (in TOML, keys after a "
            f"[table] header belong to that table: move it above the first header)"
        )
    return Problem(file, line, label, message)


def _misplaced_top_level(path: tuple[PathPart, ...], kind: str, value: object) -> bool:
    """The classic TOML slip: a top-level key written below a [table] header."""
    if len(path) < 2 or not isinstance(path[-1], str) or path[-1] not in Persona.model_fields:
        return False
    return kind == "extra_forbidden" or not isinstance(value, str)


def _message(err: Mapping[str, Any], kind: str, path: tuple[PathPart, ...]) -> str:
    msg = str(err.get("msg", "invalid"))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        known = _fields_at(path[:-1])
        guess = difflib.get_close_matches(str(path[-1]), known, n=1) if known and path else []
        hint = f"; did you mean {guess[0]!r}?" if guess else (f"; known: {', '.join(known)}" if known else "")
        return f"unknown field{hint}"
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif kind.endswith("string_pattern_mismatch") and ctx.get("pattern") == PERSONA_ID:
        msg = "must be 1–32 lowercase letters, digits or _, starting with a letter"
    msg = _TOML_WORDS.sub(lambda m: _TOML_TERMS[m.group(0).split(" or ")[0]], msg)
    value = err.get("input")
    if kind not in _NO_GOT and not kind.startswith("key_") and isinstance(value, _SCALAR_TYPES):
        shown = repr(value)
        if len(shown) <= 40:
            msg = f"{msg} (got {shown})"
    return " ".join(msg.split())


def _label(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out or "(persona)"


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional so the model (or container) underneath shows."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            models = [a for a in rest if _is_model(_unwrap(a))]
            if len(rest) != 1 and len(models) != 1:
                return tp
            tp = rest[0] if len(rest) == 1 else models[0]  # a line or a table: the table's fields
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _fields_at(path: Sequence[PathPart]) -> list[str]:
    """The field names of the model at `path` (for "did you mean"); [] if not a model."""
    tp: Any = Persona
    for part in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return []
            tp = info.annotation
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def load_persona_text(text: str, file: str | os.PathLike[str] = "<persona>") -> Persona:
    """Parse one persona from TOML text.

    `file` only names the text in problems. Raises `PersonaInvalid` when the text goes past
    the limits (`limits.py`), is not TOML or does not fit the schema; `details["problems"]`
    lists every problem found (as `Problem.as_dict()`, at most `Limits.problems_per_file`
    and one that counts the rest), each with its line.
    """
    name = os.fspath(file)
    parsed = _parse(text, name)
    if parsed.persona is None:
        raise _invalid(name, parsed.problems)
    return parsed.persona


def _invalid(file: str, problems: Sequence[Problem]) -> PersonaInvalid:
    first = str(problems[0]) if problems else f"{file}: invalid persona"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return PersonaInvalid(first + more, details={"problems": [p.as_dict() for p in problems]})


# -- a set of files ----------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaSet:
    """The personas that loaded, and every problem met on the way.

    `personas` maps id → persona; `sources` maps id → the file it came from.
    """

    personas: Mapping[str, Persona] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "personas", types.MappingProxyType(dict(self.personas)))
        object.__setattr__(self, "sources", types.MappingProxyType(dict(self.sources)))

    def __len__(self) -> int:
        return len(self.personas)

    def __iter__(self) -> Iterator[Persona]:
        return iter(self.personas.values())

    def __contains__(self, persona_id: object) -> bool:
        return persona_id in self.personas

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def get(self, persona_id: str) -> Persona:
        """The persona with this id. Raises `PersonaNotFound` (code persona_not_found)."""
        try:
            return self.personas[persona_id]
        except KeyError:
            raise PersonaNotFound(f"no persona {persona_id!r}", details={"persona": persona_id}) from None

    @cached_property
    def _names(self) -> dict[str, str]:
        """casefolded id, name or alias → persona id (clashes were refused on load)."""
        index: dict[str, str] = {}
        for pid, persona in self.personas.items():
            for n in (pid, *persona.names):
                index.setdefault(_norm(n), pid)
        return index

    @cached_property
    def _mention_re(self) -> re.Pattern[str] | None:
        names = sorted(
            {straight(n) for p in self.personas.values() for n in p.names if n.strip()},
            key=lambda n: (-len(n), n),
        )
        if not names:
            return None
        alternatives = "|".join(r"\s+".join(re.escape(w) for w in n.split()) for n in names)
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def by_name(self, text: str) -> Persona | None:
        """The persona whose id, name or alias is `text` (case-insensitive), or None."""
        pid = self._names.get(_norm(text))
        return None if pid is None else self.personas[pid]

    def mentioned_in(
        self, text: str, *, among: Collection[str] | None = None, besides: Collection[str] = ()
    ) -> list[Persona]:
        """Every persona named in `text` (by name or alias), in order of first mention.

        Whole words only ("Ansel" is not found in "Anselm", "Al" not in "Always"),
        case-insensitive, curly and straight apostrophes alike ("O’Brien" is "O'Brien"), a
        possessive or punctuation after a name is still the name ("Rook's", "Captain Vane?"),
        each persona once; where names overlap the longest wins ("Old Tam" before "Tam"). Ids
        are not matched: players type names, and ids are often ordinary words.

        `among`: only these persona ids count (the NPCs present in a scene; an absent NPC
        named is no addressee). `besides`: ids that never count (the NPC whose own line this
        is: an NPC naming itself does not call on itself).
        """
        pattern = self._mention_re
        if pattern is None:
            return []
        found: dict[str, Persona] = {}
        for m in pattern.finditer(straight(text)):
            pid = self._names.get(_norm(m.group(0)))
            if pid is None or pid in found or pid in besides or (among is not None and pid not in among):
                continue
            found[pid] = self.personas[pid]
        return list(found.values())


def _norm(name: str) -> str:
    return " ".join(straight(name).split()).casefold()


_NONBLOCK = 0 if sys.platform == "win32" else os.O_NONBLOCK


def _read(path: Path, root: Path, limits: Limits = LIMITS) -> tuple[str | None, Problem | None]:
    """The text of a persona file in `root`, or the one problem that keeps it from being read.

    Refused before reading: a path whose real location is outside `root` (a link out of the
    personas folder), anything but a regular file (a folder named `x.toml`, a FIFO, a
    device), and a file over `limits.file_bytes` by `stat`. The open does not block (a FIFO
    swapped in after the `stat` returns at once and is refused by `fstat`), and at most one
    byte more than the limit is read, so a file that grows meanwhile is refused too.
    """
    name = str(path)

    def problem(message: str, line: int = 1) -> tuple[None, Problem]:
        return None, Problem(name, line, "file", message)

    try:
        real = path.resolve()
        base = root.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11, 3.12)
        return problem(f"cannot read: {exc}")
    if not real.is_relative_to(base):
        return problem(f"cannot read: it links to {real}, outside the personas folder {base}")
    try:
        info = os.stat(real)
    except OSError as exc:
        return problem(f"cannot read: {exc.strerror or exc}")
    refused = _not_readable(info, limits)
    if refused:
        return problem(refused)
    try:
        fd = os.open(real, os.O_RDONLY | _NONBLOCK)
        with open(fd, "rb") as handle:
            refused = _not_readable(os.fstat(handle.fileno()), limits)
            if refused:
                return problem(refused)
            data = handle.read(limits.file_bytes + 1)
    except OSError as exc:
        return problem(f"cannot read: {exc.strerror or exc}")
    if len(data) > limits.file_bytes:
        return problem(_too_big(len(data), limits))
    if data.startswith(codecs.BOM_UTF8):
        return problem("starts with a byte-order mark (BOM); save it as UTF-8 without BOM")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return problem("not UTF-8 text (TOML files must be UTF-8)", line)


def _not_readable(info: os.stat_result, limits: Limits) -> str | None:
    if stat.S_ISDIR(info.st_mode):
        return "cannot read: a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "cannot read: not a regular file (a pipe, socket or device)"
    if info.st_size > limits.file_bytes:
        return _too_big(info.st_size, limits)
    return None


def _too_big(size: int, limits: Limits) -> str:
    return (
        f"the file is {size:,} bytes; a persona file may be at most {limits.file_bytes:,} bytes "
        f"({limits.file_bytes // 1024} KiB)"
    )


def _persona_files(folder: Path, problems: list[Problem], limits: Limits = LIMITS) -> list[Path]:
    """The `*.toml` entries of `folder` in name order, at most `limits.files` of them; the
    rest are named in one problem (at the first one left out)."""
    found = sorted(folder.glob("*.toml"))
    if len(found) <= limits.files:
        return found
    left = found[limits.files :]
    problems.append(
        Problem(
            str(left[0]),
            1,
            "file",
            f"not read: {len(found):,} persona files in {folder}, more than {limits.files:,}; "
            f"this one and the {len(left) - 1:,} after it (by name) were left out",
        )
    )
    return found[: limits.files]


def _load_files(
    files: Sequence[Path],
    problems: list[Problem],
    known_ids: frozenset[str] = frozenset(),
    limits: Limits = LIMITS,
) -> PersonaSet:
    """Load `files` in order; later files lose clashes. Appends to `problems`.

    Each file is read only from inside its own folder (see `_read`).

    `known_ids` are personas that exist elsewhere (not loaded here) and so may be named in
    relationships without a warning.
    """
    personas: dict[str, Persona] = {}
    sources: dict[str, str] = {}
    parsed_as: dict[str, _Parsed] = {}  # id → its parse, whose `keys` locate its warnings
    claims: dict[str, str] = {}  # casefolded id/name/alias → persona id
    for path in files:
        name = str(path)
        text, problem = _read(path, path.parent, limits)
        if text is None:
            problems.append(problem or Problem(name, 1, "file", "cannot read"))
            continue
        parsed = _parse(text, name, limits)
        problems.extend(parsed.problems)
        persona = parsed.persona
        if persona is None:
            continue
        if persona.id != path.stem:
            problems.append(
                Problem(
                    name,
                    parsed.keys.line_of(("id",)),
                    "id",
                    f"id {persona.id!r} differs from the file name {path.name!r}; name the file {persona.id}.toml",
                    "warning",
                )
            )
        clashes: list[Problem] = []
        if persona.id in personas:
            clashes.append(
                Problem(
                    name,
                    parsed.keys.line_of(("id",)),
                    "id",
                    f"duplicate id {persona.id!r}: already defined in {sources[persona.id]}",
                )
            )
        else:
            spots: list[tuple[tuple[PathPart, ...], str]] = [(("id",), persona.id)]
            spots += [(("name",), persona.name)]
            spots += [(("aliases", i), a) for i, a in enumerate(persona.aliases)]
            for loc, claimed in spots:
                owner = claims.get(_norm(claimed))
                if owner is not None:
                    clashes.append(
                        Problem(
                            name,
                            parsed.keys.line_of(loc),
                            _label(loc),
                            f"{claimed!r} is already a name of persona {owner!r} "
                            f"({sources[owner]}); names and aliases must be unique",
                        )
                    )
        if clashes:
            problems.extend(clashes)
            continue
        for n in (persona.id, *persona.names):
            claims[_norm(n)] = persona.id
        personas[persona.id] = persona
        sources[persona.id] = name
        parsed_as[persona.id] = parsed
    for pid, persona in personas.items():
        for other in persona.relationships:
            if other not in personas and other not in known_ids:
                loc = ("relationships", other)
                problems.append(
                    Problem(
                        sources[pid],
                        parsed_as[pid].keys.line_of(loc),
                        _label(loc),
                        f"no persona with id {other!r} is loaded",
                        "warning",
                    )
                )
    ordered = sorted(problems, key=lambda p: (p.file, p.line))  # grouped by file, then line
    return PersonaSet(personas, tuple(ordered), sources)


def load_personas(directory: str | os.PathLike[str], *, limits: Limits = LIMITS) -> PersonaSet:
    """Load every `*.toml` in `directory` (not recursive), in file-name order.

    Never stops at a broken file: what loads is in `.personas`, what did not is explained
    in `.problems`. Files past `limits` are refused one problem each (see `limits.py`).
    Raises `ConfigError` only if `directory` is not a directory.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"persona directory not found: {root}", details={"path": str(root)})
    problems: list[Problem] = []
    return _load_files(_persona_files(root, problems, limits), problems, limits=limits)


def validate_paths(paths: Iterable[str | os.PathLike[str]], *, limits: Limits = LIMITS) -> list[Problem]:
    """Check persona files and directories (their `*.toml`) together, as one set.

    Returns every problem, errors and warnings (see `Problem.severity`); an empty list means
    all is well. A relationship may name a persona whose file sits next to a checked one.
    Paths that do not exist, and named files that are not `.toml`, are reported as problems
    rather than raised. A named file is held to the same rules as in a folder: it must be a
    regular file inside its own folder (links resolved) and within `limits`.
    """
    problems: list[Problem] = []
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _persona_files(path, problems, limits)
            if not found:
                problems.append(Problem(str(path), 1, "file", "no *.toml persona files here", "warning"))
            files.extend(found)
        elif path.exists() or path.is_symlink():
            if path.suffix.lower() != ".toml":
                problems.append(Problem(str(path), 1, "file", "not a .toml file; skipped", "warning"))
            else:
                files.append(path)
        else:
            problems.append(Problem(str(path), 1, "file", "no such file or directory"))
    unique = list(dict.fromkeys(files))
    # A file checked on its own may name its neighbours in relationships: they exist.
    neighbours = frozenset(sibling.stem for folder in {f.parent for f in unique} for sibling in folder.glob("*.toml"))
    return list(_load_files(unique, problems, neighbours, limits).problems)


def has_errors(problems: Iterable[Problem]) -> bool:
    """Whether any problem is an error (a CLI exits non-zero then; warnings alone pass)."""
    return any(p.severity == "error" for p in problems)


# -- JSON Schema -------------------------------------------------------------------------


def persona_json_schema() -> dict[str, Any]:
    """The JSON Schema of a persona file, for modders' editors (e.g. Taplo `#:schema`)."""
    schema = Persona.model_json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def render_schema() -> str:
    """The exact text of personas/persona.schema.json."""
    return json.dumps(persona_json_schema(), indent=2, ensure_ascii=False) + "\n"


def schema_is_current(path: str | os.PathLike[str]) -> bool:
    """Whether the checked-in schema file matches the model (False if it is missing)."""
    try:
        return Path(path).read_text(encoding="utf-8") == render_schema()
    except OSError:
        return False


def write_schema(path: str | os.PathLike[str]) -> bool:
    """Write the schema to `path` (a file, or a directory to hold persona.schema.json).

    Returns whether the file changed. Raises `ConfigError` if it cannot be written.
    """
    target = Path(path)
    if target.is_dir():
        target = target / SCHEMA_FILENAME
    if schema_is_current(target):
        return False
    try:
        target.write_text(render_schema(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return True


__all__ = [
    "SCHEMA_FILENAME",
    "PersonaSet",
    "Problem",
    "Severity",
    "has_errors",
    "load_persona_text",
    "load_personas",
    "persona_json_schema",
    "render_schema",
    "schema_is_current",
    "validate_paths",
    "write_schema",
]
