"""Op handlers of history (issue 13 §4): functions over `Services`, registered in
`Dispatcher._handlers`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sidecar.engine.emotion import accept
from sidecar.engine.pipeline.load import load_conversation
from sidecar.protocol import history as H
from sidecar.protocol import ops as P
from sidecar.store import archive, history, scenes
from sidecar.store.db import MessageRow

if TYPE_CHECKING:
    from sidecar.server.dispatch import Services


async def conversation_list(services: Services, args: H.ConversationListArgs) -> H.ConversationListResult:
    page = await services.store.run(
        history.list_conversations, player=args.player, persona=args.persona, limit=args.limit, cursor=args.cursor
    )
    members = await services.store.run(
        scenes.members_of, [c.conversation for c in page.conversations if c.kind == scenes.KIND]
    )
    return H.ConversationListResult(
        conversations=[
            H.ConversationOut(
                conversation=c.conversation,
                persona=c.persona,
                player=c.player,
                started_at=c.started_at,
                updated_at=c.updated_at,
                lines=c.lines,
                ended=c.ended,
                archived=c.archived,
                kind="scene" if c.kind == scenes.KIND else "conversation",
                personas=members.get(c.conversation, []) if c.kind == scenes.KIND else [c.persona],
            )
            for c in page.conversations
        ],
        cursor=page.cursor,
    )


async def conversation_history(services: Services, args: P.HistoryArgs) -> P.HistoryResult:
    await load_conversation(services.store, args.conversation, allow_ended=True, allow_scene=True)
    rows = await services.store.run(history.lines, args.conversation, limit=args.limit, before=args.before)
    return history_result(rows)


def history_result(rows: Sequence[MessageRow]) -> P.HistoryResult:
    """Stored lines as `conversation.history` and `scene.history` send them."""
    return P.HistoryResult(
        lines=[
            P.HistoryLine(
                seq=r.seq,
                speaker=r.speaker,
                name=r.name,
                text=r.text,
                at=r.at,
                emotion=accept(r.emotion),
                intensity=r.intensity,
            )
            for r in rows
        ]
    )


async def history_search(services: Services, args: H.SearchArgs) -> H.SearchResult:
    hits = await services.store.run(
        history.search, args.query, persona=args.persona, player=args.player, limit=args.limit
    )
    return H.SearchResult(
        hits=[
            H.HitOut(
                conversation=h.conversation,
                seq=h.seq,
                speaker=h.speaker,
                text=h.text,
                snippet=h.snippet,
                at=h.at,
                archived=h.archived,
            )
            for h in hits
        ]
    )


CHECKPOINT_EVERY = 100
"""Conversations archived between two checkpoints: each moves ~100 pages through the WAL, so
the WAL stays well under the checkpoint thread's RESTART size (db.WAL_RESET_FRAMES)."""


async def archive_run(services: Services, args: H.ArchiveRunArgs) -> H.ArchiveRunResult:
    """One transaction per conversation, the event loop free between them (turns go on)."""
    store = services.store
    archived = 0
    for n, conversation in enumerate(await store.run(archive.candidates, args.older_than_days, time.time()), 1):
        archived += bool(await store.run(archive.archive_one, conversation))
        if n % CHECKPOINT_EVERY == 0:
            await store.checkpoint()  # on the checkpoint thread; turns run meanwhile
        else:
            await asyncio.sleep(0)
    return H.ArchiveRunResult(archived=archived)


async def archive_restore(services: Services, args: H.ArchiveRestoreArgs) -> H.ArchiveRestoreResult:
    return H.ArchiveRestoreResult(restored=await services.store.run(archive.restore, args.conversation))


__all__ = [
    "archive_restore", "archive_run", "conversation_history", "conversation_list", "history_result", "history_search",
]
