"""Load a conversation for a step sequence, refusing one that is missing or over.

Every public `Dialogue` method starts here; nothing is written, so a refusal changes nothing
stored.
"""

from __future__ import annotations

from sidecar.errors import BadRequest, ConversationEnded, ConversationNotFound
from sidecar.store.db import ConversationRow, Store, TurnState

HISTORY_WINDOW = 24
"""Lines of context given to the engine each turn."""


def _missing(conversation_id: str) -> ConversationNotFound:
    return ConversationNotFound(f"no conversation {conversation_id!r}", details={"conversation": conversation_id})


def _refuse_scene(conv: ConversationRow) -> None:
    if not conv.persona_id:
        # A scene (store/scenes.py: its persona is ''): it has its own ops.
        raise BadRequest(f"{conv.id!r} is a scene: use the scene ops", details={"conversation": conv.id})


def _refuse_ended(conv: ConversationRow) -> None:
    _refuse_scene(conv)
    if conv.ended_at is not None:
        raise ConversationEnded(f"conversation {conv.id!r} has ended", details={"conversation": conv.id})


async def load_turn(store: Store, conversation_id: str) -> TurnState:
    """The conversation, its recent lines, the affinity and the goal, in one read.

    Raises ConversationNotFound, ConversationEnded, BadRequest (a scene's id)."""
    state = await store.turn_state(conversation_id, HISTORY_WINDOW)
    if state is None:
        raise _missing(conversation_id)
    _refuse_ended(state.conversation)
    return state


async def load_conversation(
    store: Store, conversation_id: str, *, allow_ended: bool = False, allow_scene: bool = False
) -> ConversationRow:
    """Raises ConversationNotFound, ConversationEnded unless `allow_ended`, and BadRequest for
    a scene's id unless `allow_scene` (what reads a scene's lines like a conversation's)."""
    conv = await store.conversation(conversation_id)
    if conv is None:
        raise _missing(conversation_id)
    if not allow_scene:
        _refuse_scene(conv)
    if not allow_ended:
        _refuse_ended(conv)
    return conv


__all__ = ["HISTORY_WINDOW", "load_conversation", "load_turn"]
