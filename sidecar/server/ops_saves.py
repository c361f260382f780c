"""Op handlers of save slots and world facts (issue 13 §5): functions over `Services`,
registered in `Dispatcher._handlers`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecar.protocol import saves as S
from sidecar.store import saves, world

if TYPE_CHECKING:
    from sidecar.server.dispatch import Services


def _slot(info: saves.SlotInfo) -> S.SlotOut:
    return S.SlotOut(slot=info.slot, created_at=info.created_at, bytes=info.bytes)


async def save_create(services: Services, args: S.SlotArgs) -> S.SaveResult:
    return S.SaveResult(save=_slot(await saves.create(services.store, args.slot)))


async def save_load(services: Services, args: S.SlotArgs) -> S.SaveResult:
    return S.SaveResult(save=_slot(await saves.load(services.store, args.slot, services.activity)))


async def save_list(services: Services, args: S.SaveListArgs) -> S.SaveListResult:
    return S.SaveListResult(slots=[_slot(s) for s in saves.list_slots(services.store)])


async def save_delete(services: Services, args: S.SlotArgs) -> S.SaveDeleteResult:
    saves.delete(services.store, args.slot)
    return S.SaveDeleteResult(deleted=True)


async def world_set(services: Services, args: S.WorldSetArgs) -> S.WorldFactsResult:
    return S.WorldFactsResult(facts=await services.store.run(world.set_fact, args.key, args.value))


async def world_get(services: Services, args: S.WorldKeyArgs) -> S.WorldFactsResult:
    return S.WorldFactsResult(facts=world.pick(await services.store.run(world.facts), args.key))


async def world_clear(services: Services, args: S.WorldKeyArgs) -> S.WorldClearResult:
    return S.WorldClearResult(cleared=await services.store.run(world.clear, args.key))


__all__ = ["save_create", "save_delete", "save_list", "save_load", "world_clear", "world_get", "world_set"]
