"""Bystanders of a line: the NPCs the game names as overhearing it (`witnesses`).

The one check of a turn's `witnesses` against the loaded personas, made before anything is
generated or stored, so a refused turn stores nothing: an id with no persona is
`persona_not_found`, the conversation's own persona is `bad_request` (it hears every line of
its conversation anyway). The protocol model has already refused duplicates and bad ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sidecar.errors import BadRequest, PersonaNotFound
from sidecar.personas.model import Persona


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


__all__ = ["bystanders"]
