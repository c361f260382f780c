"""Bystanders of a line: the NPCs the game names as overhearing it (`witnesses`).

`bystanders` is the one check of a turn's `witnesses` against the loaded personas, made
before anything is generated or stored, so a refused turn stores nothing: an id with no
persona is `persona_not_found`, the conversation's own persona is `bad_request` (it hears
every line of its conversation anyway). The protocol model has already refused duplicates
and malformed ids.

`overheard` is what a bystander remembers of a turn: the memories the turn left for the NPC
spoken to, retold from the bystander's side (`retell`: the speaker's "I" and "me" become its
name, words in sidecar/data/witness.toml), under the same memory keys, so hearing the same
fact twice stays one memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from sidecar.engine.data import read_toml, word_map
from sidecar.errors import BadRequest, PersonaNotFound
from sidecar.personas.model import Persona
from sidecar.store.memory import MAX_MEMORY_TEXT, NewMemory

_FILE = "witness.toml"
_RETELL = word_map(read_toml(_FILE), _FILE, "retell")
_TOKEN = re.compile(r"[\w']+|[^\w']+")
_QUOTED = re.compile(r'("[^"]*"?)')


def _swap(part: str, npc_name: str) -> str:
    return "".join(
        _RETELL[t.lower()].replace("{npc}", npc_name) if t.lower() in _RETELL else t for t in _TOKEN.findall(part)
    )


def retell(text: str, npc_name: str) -> str:
    """A memory made by `npc_name` (in its voice: "I", "me" are that NPC) as another NPC
    remembers it; "The player told me a secret" becomes "The player told Goldie a secret".
    Words in double quotes are the player's own and stay as they are. Cut to the memory
    length limit (a long name can grow the text)."""
    return cut("".join(p if p.startswith('"') else _swap(p, npc_name) for p in _QUOTED.split(text)))


def cut(text: str) -> str:
    """`text` within the memory length limit."""
    return text if len(text) <= MAX_MEMORY_TEXT else text[: MAX_MEMORY_TEXT - 1].rstrip() + "…"


def attributed(text: str, told_by: str | None, personas: Sequence[Persona]) -> str:
    """A memory as an LLM prompt lists it: hearsay says who told it ("... (Goldie told you
    this.)"), by the teller's name when it is among `personas`, else its id."""
    if told_by is None:
        return text
    name = next((p.name for p in personas if p.id == told_by), told_by)
    return f"{text.rstrip()} ({name} told you this.)"


def overheard(memories: Iterable[NewMemory], speaker: Persona, heard_by: Sequence[Persona]) -> list[NewMemory]:
    """Each bystander's copy of the memories a turn left for `speaker` (the NPC spoken to):
    same kind, importance, key and line; retold in the bystander's words."""
    mine = [m for m in memories if m.persona in (None, speaker.id) and m.told_by is None]
    return [
        replace(m, text=retell(m.text, speaker.name), persona=b.id)
        for b in heard_by
        for m in mine
    ]


def bystanders(find: Callable[[str], Persona], speaker: Persona, ids: Sequence[str]) -> tuple[Persona, ...]:
    """The personas named by `ids`, in order. `find` raises PersonaNotFound for an unknown id.

    Raises PersonaNotFound, BadRequest."""
    found: list[Persona] = []
    for i, pid in enumerate(ids):
        field = f"witnesses[{i}]"
        if pid == speaker.id:
            raise BadRequest(
                f"{pid!r} is the persona of this conversation, not a bystander",
                details={"errors": [{"field": field, "problem": "the conversation's own persona"}]},
            )
        try:
            found.append(find(pid))
        except PersonaNotFound:
            raise PersonaNotFound(
                f"no persona {pid!r} to overhear this line", details={"persona": pid, "field": field}
            ) from None
    return tuple(found)


__all__ = ["attributed", "bystanders", "cut", "overheard", "retell"]
