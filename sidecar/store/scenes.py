"""Multi-NPC scenes as stored (migration 10): a `conversations` row of kind 'scene', its
`scenes` row (how it picks speakers) and its `scene_members` (who is in it).

A scene's `conversations.persona_id` is '' (`NO_PERSONA`): it belongs to no single NPC, so
the witness rule of store/witness.py ("a conversation's own persona heard every line") names
nobody, and every NPC that heard a scene line has its own `message_witnesses` row: the NPCs
present at that moment, the speaker included. An NPC that joined later or left earlier has no
row for the line, and the lines a member is given as its history are only those it heard.

Each member keeps its own conversation state (`scene_members.state`: the JSON of
engine/state.py's `ConversationState`, versioned there), because the embedded engine's memory,
the emotional arc and the options shown belong to one player x NPC pair.

Every function here is sync over the apsw connection (`Store.run` calls it) and is one
transaction; a refused call (`SceneNotFound`, `PersonaNotInScene`, `BadRequest`) writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from sidecar.errors import BadRequest, ConversationEnded, PersonaNotInScene, SceneNotFound, StoreError
from sidecar.store import witness
from sidecar.store import world as world_facts
from sidecar.store.db import (
    DEFAULT_AFFINITY,
    AffinityResult,
    AffinityWrite,
    ConversationRow,
    MessageRow,
    NewMessage,
    TurnState,
    apply_affinity,
    insert_messages,
)
from sidecar.store.memory import NewMemory, write_told, write_turn_memories
from sidecar.store.summaries import SummaryWrite, insert_sync
from sidecar.store.tx import writing

NO_PERSONA = ""
"""`conversations.persona_id` of a scene: never a persona id (those match `^[a-z]...`)."""
KIND = "scene"
Strategy = Literal["natural", "list", "pooled", "manual"]


@dataclass(frozen=True)
class Member:
    persona: str
    order: int
    present: bool
    farewell: bool
    state: Mapping[str, Any]
    """The member's ConversationState JSON (engine/state.py reads it)."""


@dataclass(frozen=True)
class SceneRow:
    id: str
    player: str
    seed: int
    strategy: Strategy
    max_lines: int
    max_tokens: int | None
    talkativeness: float | None
    last_addressed: str | None
    max_usd: float | None
    exchanges: int
    ended: bool
    members: tuple[Member, ...]
    """Every member that ever joined, in joining order."""

    @property
    def present(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.present)

    def member(self, persona: str) -> Member | None:
        return next((m for m in self.members if m.persona == persona), None)


@dataclass(frozen=True)
class NewScene:
    scene: str
    player: str
    seed: int
    strategy: Strategy
    max_lines: int
    max_tokens: int | None
    talkativeness: float | None
    max_usd: float | None
    personas: tuple[str, ...]
    greetings: tuple[NewMessage, ...]
    """One per persona, in order; each heard by every persona of the scene."""
    states: Mapping[str, Mapping[str, Any]]
    """Each persona's ConversationState JSON after its greeting."""
    affinity: Mapping[str, int]
    """The starting affinity of each pair that has none stored yet."""
    memories: tuple[NewMemory, ...] = ()
    """What the NPCs gossiped as the scene began (each `m.persona`'s, `told_by` its teller),
    sourced to the greeting `m.line` (the teller's)."""


@dataclass(frozen=True)
class LineWrite:
    """One NPC line of an exchange (with the player's line when it is the exchange's first),
    committed in one transaction."""

    scene: str
    speaker: str
    messages: tuple[NewMessage, ...]
    """The player's line then the NPC's, or the NPC's alone."""
    hearers: tuple[str, ...]
    """Every NPC present as the line is said (the speaker included)."""
    state: Mapping[str, Any]
    """The speaker's ConversationState JSON after the line."""
    affinity: AffinityWrite | None = None
    memories: tuple[NewMemory, ...] = ()
    """Sourced to `messages[m.line]`; `m.persona` (None: the speaker) is who remembers it."""
    summary: SummaryWrite | None = None
    farewell: bool = False
    """The speaker said goodbye with this line."""
    addressed: str | None = None
    """Whom the line was spoken to (the scene's last addressed NPC), None: the player."""
    opens_exchange: bool = False


@dataclass(frozen=True)
class LineStored:
    seq: int
    """The NPC line's seq."""
    affinity: AffinityResult
    ended: bool


def _not_found(scene: str) -> SceneNotFound:
    return SceneNotFound(f"no scene {scene!r}", details={"scene": scene})


def create(conn: Any, new: NewScene) -> dict[str, int]:
    """The scene, its members and their greetings; returns each pair's affinity."""
    now = time.time()
    with writing(conn):
        conn.execute("INSERT OR IGNORE INTO players(id, created_at) VALUES (?, ?)", (new.player, now))
        conn.executemany(
            "INSERT OR IGNORE INTO relationships(player_id, persona_id, affinity, updated_at) VALUES (?, ?, ?, ?)",
            [(new.player, p, new.affinity.get(p, DEFAULT_AFFINITY), now) for p in new.personas],
        )
        conn.execute(
            "INSERT INTO conversations(id, player_id, persona_id, seed, started_at, updated_at, memory, kind,"
            " turns) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, 1)",
            (new.scene, new.player, NO_PERSONA, new.seed, now, now, KIND),
        )
        conn.execute(
            "INSERT INTO scenes(conversation_id, strategy, max_lines, max_tokens, talkativeness, max_usd)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (new.scene, new.strategy, new.max_lines, new.max_tokens, new.talkativeness, new.max_usd),
        )
        conn.executemany(
            "INSERT INTO scene_members(conversation_id, persona_id, ord, present, state) VALUES (?, ?, ?, 1, ?)",
            [(new.scene, p, k, _dump(new.states.get(p, {}))) for k, p in enumerate(new.personas)],
        )
        insert_messages(conn, new.scene, 0, new.greetings, now)
        witness.record_sync(conn, new.scene, 0, len(new.greetings), new.personas)
        write_turn_memories(conn, new.player, NO_PERSONA, new.scene, 0, new.memories, now)
        return _affinities(conn, new.player, new.personas)


def _affinities(conn: Any, player: str, personas: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in personas:
        rows = conn.execute(
            "SELECT affinity FROM relationships WHERE player_id=? AND persona_id=?", (player, p)
        ).fetchall()
        out[p] = int(rows[0][0]) if rows else DEFAULT_AFFINITY
    return out


def _dump(state: Mapping[str, Any]) -> str:
    return orjson.dumps(state, option=orjson.OPT_NON_STR_KEYS).decode()


def load(conn: Any, scene: str) -> SceneRow | None:
    """The scene and its members; None when there is no scene of that id (a plain
    conversation's id is no scene either)."""
    rows = conn.execute(
        "SELECT c.id, c.player_id, c.seed, s.strategy, s.max_lines, s.max_tokens, s.talkativeness,"
        " s.last_addressed, s.exchanges, c.ended_at, s.max_usd FROM conversations c JOIN scenes s"
        " ON s.conversation_id = c.id WHERE c.id = ?",
        (scene,),
    ).fetchall()
    if not rows:
        return None
    r = rows[0]
    members = tuple(
        Member(m[0], int(m[1]), bool(m[2]), bool(m[3]), orjson.loads(m[4]))
        for m in conn.execute(
            "SELECT persona_id, ord, present, farewell, state FROM scene_members WHERE conversation_id = ?"
            " ORDER BY ord",
            (scene,),
        ).fetchall()
    )
    return SceneRow(
        id=r[0],
        player=r[1],
        seed=int(r[2]),
        strategy=r[3],
        max_lines=int(r[4]),
        max_tokens=None if r[5] is None else int(r[5]),
        talkativeness=None if r[6] is None else float(r[6]),
        last_addressed=r[7],
        max_usd=None if r[10] is None else float(r[10]),
        exchanges=int(r[8]),
        ended=r[9] is not None,
        members=members,
    )


def open_scene(conn: Any, scene: str) -> SceneRow:
    """The scene, refusing one that is missing (`SceneNotFound`) or over (`ConversationEnded`)."""
    row = load(conn, scene)
    if row is None:
        raise _not_found(scene)
    if row.ended:
        raise ConversationEnded(f"scene {scene!r} has ended", details={"scene": scene})
    return row


_LINE_COLUMNS = (
    "m.seq, m.speaker, m.name, m.text, m.at, m.sentiment, m.compound, m.provider, m.quality, m.retries,"
    " m.stance, m.emotion, m.intensity"
)


def heard_lines(conn: Any, scene: str, persona: str, window: int) -> list[MessageRow]:
    """The newest `window` lines of the scene that `persona` heard, oldest first."""
    rows = conn.execute(
        f"SELECT {_LINE_COLUMNS} FROM messages m JOIN message_witnesses w ON w.message_id = m.id"
        " WHERE m.conversation_id = ? AND w.persona_id = ? ORDER BY m.seq DESC LIMIT ?",
        (scene, persona, window),
    ).fetchall()
    return list(map(MessageRow._make, reversed(rows)))


def turn_state(conn: Any, scene_id: str, persona: str, window: int) -> TurnState:
    """What one member's line reads, as `Store.turn_state` gives a conversation's: the scene
    as this member knows it (its own state as the conversation's memory, only the lines it
    heard), its affinity with the player, the world facts. Raises SceneNotFound,
    ConversationEnded, PersonaNotInScene."""
    scene = open_scene(conn, scene_id)
    member = scene.member(persona)
    if member is None or not member.present:
        raise PersonaNotInScene(f"{persona!r} is not in scene {scene_id!r}", details={"persona": persona})
    rows = conn.execute(
        "SELECT c.started_at, c.updated_at, c.turns, r.affinity FROM conversations c LEFT JOIN relationships r"
        " ON r.player_id = c.player_id AND r.persona_id = ? WHERE c.id = ?",
        (persona, scene_id),
    ).fetchall()
    started, updated, turns, affinity = rows[0]
    conversation = ConversationRow(
        id=scene_id,
        player_id=scene.player,
        persona_id=persona,
        seed=scene.seed,
        started_at=started,
        updated_at=updated,
        ended_at=None,
        archived_at=None,
        turns=int(turns),
        memory=member.state,
    )
    return TurnState(
        conversation=conversation,
        lines=heard_lines(conn, scene_id, persona, window),
        affinity=DEFAULT_AFFINITY if affinity is None else int(affinity),
        goal=None,
        world=world_facts.facts(conn),
    )


def set_state(conn: Any, scene: str, persona: str, state: Mapping[str, Any]) -> None:
    """Replace one member's conversation state (the options shown after an exchange)."""
    with conn:
        conn.execute(
            "UPDATE scene_members SET state = ? WHERE conversation_id = ? AND persona_id = ?",
            (_dump(state), scene, persona),
        )


def commit_line(conn: Any, w: LineWrite) -> LineStored:
    """One NPC line (and the player's, first in an exchange), who heard it, the speaker's state,
    affinity and memories; ends the scene once every present member has said goodbye."""
    now = time.time()
    with writing(conn):
        rows = conn.execute(
            "SELECT c.player_id, c.ended_at, (SELECT COALESCE(MAX(seq), -1) + 1 FROM messages"
            " WHERE conversation_id = c.id), r.affinity FROM conversations c LEFT JOIN relationships r"
            " ON r.player_id = c.player_id AND r.persona_id = ? WHERE c.id = ? AND c.kind = ?",
            (w.speaker, w.scene, KIND),
        ).fetchall()
        if not rows:
            raise StoreError(f"scene {w.scene} vanished")
        player, ended_at, next_seq, old = rows[0]
        if ended_at is not None:
            raise ConversationEnded(f"scene {w.scene!r} has ended", details={"scene": w.scene})
        if old is None:
            raise StoreError(f"scene {w.scene}: {w.speaker} has no relationship row")
        insert_messages(conn, w.scene, next_seq, w.messages, now)
        witness.record_sync(conn, w.scene, next_seq, len(w.messages), w.hearers)
        write_turn_memories(conn, player, w.speaker, w.scene, next_seq, w.memories, now)
        if w.summary is not None:
            insert_sync(conn, w.scene, w.summary, now)
        new = apply_affinity(conn, player, w.speaker, w.scene, int(old), w.affinity, now)
        conn.execute(
            "UPDATE scene_members SET state = ?, farewell = MAX(farewell, ?)"
            " WHERE conversation_id = ? AND persona_id = ?",
            (_dump(w.state), int(w.farewell), w.scene, w.speaker),
        )
        conn.execute(
            "UPDATE scenes SET last_addressed = ?, exchanges = exchanges + ? WHERE conversation_id = ?",
            (w.addressed, int(w.opens_exchange), w.scene),
        )
        ended = _all_said_goodbye(conn, w.scene)
        conn.execute(
            "UPDATE conversations SET turns = turns + 1, updated_at = ?,"
            " ended_at = CASE WHEN ? THEN ? ELSE ended_at END WHERE id = ?",
            (now, ended, now, w.scene),
        )
    return LineStored(next_seq + len(w.messages) - 1, AffinityResult(int(old), new), ended)


def _all_said_goodbye(conn: Any, scene: str) -> bool:
    rows = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(farewell), 0) FROM scene_members WHERE conversation_id = ? AND present = 1",
        (scene,),
    ).fetchall()
    present, farewells = int(rows[0][0]), int(rows[0][1])
    return present > 0 and farewells == present


def join(conn: Any, scene: str, persona: str, *, affinity: int, told: Sequence[NewMemory] = ()) -> SceneRow:
    """`persona` comes within earshot: it hears every line from now on (not the ones before).
    `told`: what it and the NPCs present gossiped as it came (no line is said then, so they
    have no source; each names its teller). Raises SceneNotFound, ConversationEnded,
    BadRequest (already present)."""
    now = time.time()
    with writing(conn):
        row = open_scene(conn, scene)
        member = row.member(persona)
        if member is not None and member.present:
            raise BadRequest(f"{persona!r} is already in scene {scene!r}", details={"persona": persona})
        conn.execute(
            "INSERT OR IGNORE INTO relationships(player_id, persona_id, affinity, updated_at) VALUES (?, ?, ?, ?)",
            (row.player, persona, affinity, now),
        )
        if member is None:
            conn.execute(
                "INSERT INTO scene_members(conversation_id, persona_id, ord, present) VALUES (?, ?,"
                " (SELECT COALESCE(MAX(ord), -1) + 1 FROM scene_members WHERE conversation_id = ?), 1)",
                (scene, persona, scene),
            )
        else:
            conn.execute(
                "UPDATE scene_members SET present = 1, farewell = 0 WHERE conversation_id = ? AND persona_id = ?",
                (scene, persona),
            )
        write_told(conn, row.player, told, now)
        conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, scene))
        return _loaded(conn, scene)


def leave(conn: Any, scene: str, persona: str) -> SceneRow:
    """`persona` goes out of earshot: it hears nothing more until it joins again. Leaving the
    last present member is refused (a scene with nobody in it has nobody to answer).
    Raises SceneNotFound, ConversationEnded, PersonaNotInScene, BadRequest."""
    with writing(conn):
        row = open_scene(conn, scene)
        member = row.member(persona)
        if member is None or not member.present:
            raise PersonaNotInScene(f"{persona!r} is not in scene {scene!r}", details={"persona": persona})
        if len(row.present) == 1:
            raise BadRequest(
                f"{persona!r} is the last NPC in scene {scene!r}: end the scene instead", details={"persona": persona}
            )
        conn.execute(
            "UPDATE scene_members SET present = 0 WHERE conversation_id = ? AND persona_id = ?", (scene, persona)
        )
        ended = _all_said_goodbye(conn, scene)
        now = time.time()
        conn.execute(
            "UPDATE conversations SET updated_at = ?, ended_at = CASE WHEN ? THEN ? ELSE ended_at END WHERE id = ?",
            (now, ended, now, scene),
        )
        return _loaded(conn, scene)


def _loaded(conn: Any, scene: str) -> SceneRow:
    row = load(conn, scene)
    if row is None:
        raise _not_found(scene)
    return row


@dataclass(frozen=True)
class Farewells:
    scene: str
    lines: tuple[NewMessage, ...]
    """One per present member, in order."""
    hearers: tuple[str, ...]
    states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def next_seq(conn: Any, scene: str) -> int:
    """The seq the scene's next stored line gets."""
    return int(
        conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id = ?", (scene,)).fetchall()[
            0
        ][0]
    )


def end(conn: Any, f: Farewells) -> None:
    """The present members' farewells, and the end of the scene."""
    now = time.time()
    with writing(conn):
        open_scene(conn, f.scene)
        seq = next_seq(conn, f.scene)
        insert_messages(conn, f.scene, seq, f.lines, now)
        witness.record_sync(conn, f.scene, seq, len(f.lines), f.hearers)
        conn.executemany(
            "UPDATE scene_members SET state = ?, farewell = 1 WHERE conversation_id = ? AND persona_id = ?",
            [(_dump(s), f.scene, p) for p, s in f.states.items()],
        )
        conn.execute(
            "UPDATE conversations SET turns = turns + 1, updated_at = ?, ended_at = ? WHERE id = ?",
            (now, now, f.scene),
        )


def members_of(conn: Any, conversations: Sequence[str]) -> dict[str, list[str]]:
    """The members (present or gone, in joining order) of each scene among `conversations`."""
    if not conversations:
        return {}
    marks = ",".join("?" * len(conversations))
    out: dict[str, list[str]] = {}
    for cid, persona in conn.execute(
        f"SELECT conversation_id, persona_id FROM scene_members WHERE conversation_id IN ({marks})"
        " ORDER BY conversation_id, ord",
        tuple(conversations),
    ).fetchall():
        out.setdefault(cid, []).append(persona)
    return out


__all__ = [
    "next_seq",
    "KIND",
    "NO_PERSONA",
    "Farewells",
    "LineStored",
    "LineWrite",
    "Member",
    "NewScene",
    "SceneRow",
    "Strategy",
    "commit_line",
    "create",
    "end",
    "heard_lines",
    "join",
    "leave",
    "load",
    "members_of",
    "open_scene",
    "set_state",
    "turn_state",
]
