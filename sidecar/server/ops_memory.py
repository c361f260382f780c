"""Handlers of the long-term memory ops (sidecar/protocol/memory.py), over the services.

Each is one store call after the args were validated by their model: a refused request
(unknown persona, unknown id, bad args) changes nothing stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecar.engine.remember import IMPORTANCE
from sidecar.errors import MemoryNotFound
from sidecar.protocol import memory as M
from sidecar.store.memory import Memory, NewMemory

if TYPE_CHECKING:
    from sidecar.server.dispatch import Services

def memory_out(m: Memory) -> M.MemoryOut:
    return M.MemoryOut(
        id=m.id,
        text=m.text,
        kind=m.kind,
        importance=m.importance,
        at=m.at,
        source=M.MemorySourceOut(conversation=m.source.conversation, seq=m.source.seq) if m.source else None,
        told_by=m.told_by,
    )


async def memory_list(services: Services, args: M.MemoryListArgs) -> M.MemoryListResult:
    found = await services.dialogue.memories.for_pair(args.player, args.persona, args.limit)
    return M.MemoryListResult(memories=[memory_out(m) for m in found])


async def memory_add(services: Services, args: M.MemoryAddArgs) -> M.MemoryAddResult:
    """Raises PersonaNotFound for a persona that is not loaded (nothing is stored)."""
    services.personas.get(args.persona)
    importance = args.importance if args.importance is not None else IMPORTANCE[args.kind]
    made = await services.dialogue.memories.add(args.player, args.persona, NewMemory(args.kind, args.text, importance))
    return M.MemoryAddResult(memory=memory_out(made))


async def memory_forget(services: Services, args: M.MemoryForgetArgs) -> M.MemoryForgetResult:
    """Raises MemoryNotFound for an id with no memory."""
    if not await services.dialogue.memories.forget(args.id):
        raise MemoryNotFound(f"no memory {args.id}", details={"id": args.id})
    return M.MemoryForgetResult(forgotten=True)


__all__ = ["memory_add", "memory_forget", "memory_list", "memory_out"]
