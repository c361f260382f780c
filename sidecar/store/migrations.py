"""Schema migrations, keyed on SQLite's `user_version`.

Each entry upgrades from its index to index+1 and runs in one transaction with the
`user_version` bump, so a crash mid-migration leaves the previous version intact.
Never edit a shipped migration: append a new one.
"""

from __future__ import annotations

from sidecar.store import memory

MIGRATIONS: list[str] = [
    # 0 -> 1: the walking skeleton.
    """
    CREATE TABLE players (
        id          TEXT PRIMARY KEY,
        created_at  REAL NOT NULL
    );
    CREATE TABLE conversations (
        id           TEXT PRIMARY KEY,
        player_id    TEXT NOT NULL REFERENCES players(id),
        persona_id   TEXT NOT NULL,
        seed         INTEGER NOT NULL,
        started_at   REAL NOT NULL,
        updated_at   REAL NOT NULL,
        ended_at     REAL,
        archived_at  REAL,
        turns        INTEGER NOT NULL DEFAULT 0,
        memory       TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX conversations_player ON conversations(player_id, persona_id, updated_at);
    CREATE TABLE messages (
        id               INTEGER PRIMARY KEY,
        conversation_id  TEXT NOT NULL REFERENCES conversations(id),
        seq              INTEGER NOT NULL,
        speaker          TEXT NOT NULL,
        name             TEXT NOT NULL,
        text             TEXT NOT NULL,
        at               REAL NOT NULL,
        sentiment        TEXT,
        compound         REAL,
        provider         TEXT,
        quality          INTEGER,
        retries          INTEGER NOT NULL DEFAULT 0,
        UNIQUE (conversation_id, seq)
    );
    CREATE TABLE relationships (
        player_id   TEXT NOT NULL REFERENCES players(id),
        persona_id  TEXT NOT NULL,
        affinity    INTEGER NOT NULL CHECK (affinity BETWEEN 0 AND 100),
        updated_at  REAL NOT NULL,
        PRIMARY KEY (player_id, persona_id)
    );
    CREATE TABLE affinity_events (
        id               INTEGER PRIMARY KEY,
        player_id        TEXT NOT NULL,
        persona_id       TEXT NOT NULL,
        conversation_id  TEXT,
        old              INTEGER NOT NULL,
        new              INTEGER NOT NULL,
        delta            INTEGER NOT NULL,
        reason           TEXT NOT NULL,
        at               REAL NOT NULL
    );
    CREATE INDEX affinity_events_pair ON affinity_events(player_id, persona_id, at);
    """,
    # 1 -> 2: dialogue intelligence — goals, quality details of a line.
    """
    CREATE TABLE goals (
        conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id),
        goal_id          TEXT NOT NULL,
        definition       TEXT NOT NULL,
        set_at_seq       INTEGER NOT NULL,
        progress         REAL NOT NULL DEFAULT 0,
        completed        INTEGER NOT NULL DEFAULT 0,
        rewarded         INTEGER NOT NULL DEFAULT 0,
        reason           TEXT NOT NULL DEFAULT '',
        set_at           REAL NOT NULL,
        updated_at       REAL NOT NULL
    );
    ALTER TABLE messages ADD COLUMN quality_rules TEXT;
    ALTER TABLE messages ADD COLUMN arc TEXT;
    """,
    # 2 -> 3: LLM calls and what they cost (the cost ledger; budgets read from it).
    """
    CREATE TABLE llm_calls (
        id               INTEGER PRIMARY KEY,
        at               REAL NOT NULL,
        provider         TEXT NOT NULL,
        model            TEXT NOT NULL,
        conversation_id  TEXT,
        persona_id       TEXT,
        purpose          TEXT NOT NULL DEFAULT 'line',
        input_tokens     INTEGER NOT NULL CHECK (input_tokens >= 0),
        output_tokens    INTEGER NOT NULL CHECK (output_tokens >= 0),
        usd              REAL NOT NULL CHECK (usd >= 0),
        estimated        INTEGER NOT NULL DEFAULT 0,
        priced           INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX llm_calls_at ON llm_calls(at);
    CREATE INDEX llm_calls_conversation ON llm_calls(conversation_id, at);
    """,
    # 3 -> 4: the tone of a line. A player line's stance toward the NPC (-1..1, what the arc
    # reads; engine/tone.py), an NPC line's emotion and intensity (what the game animates).
    # Lines stored before have NULLs: the arc leaves them out, history returns no emotion.
    """
    ALTER TABLE messages ADD COLUMN stance REAL;
    ALTER TABLE messages ADD COLUMN emotion TEXT;
    ALTER TABLE messages ADD COLUMN intensity REAL;
    """,
    # 4 -> 5: NPC actions (issue 15). One row per decided action, written before the game
    # hears of it (`npc.action`); the game's `action.result` fills ok/detail/result_at once
    # (the first stands); `told` is set by the turn whose prompt carried the result.
    """
    CREATE TABLE actions (
        id               TEXT PRIMARY KEY,
        conversation_id  TEXT NOT NULL REFERENCES conversations(id),
        persona_id       TEXT NOT NULL,
        turn             INTEGER NOT NULL,
        name             TEXT NOT NULL,
        args             TEXT NOT NULL,
        decided_at       REAL NOT NULL,
        ok               INTEGER,
        detail           TEXT,
        result_at        REAL,
        told             INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX actions_conversation ON actions(conversation_id, decided_at);
    """,
    # 5 -> 6: long-term memory (per player x persona) and its FTS5 index (store/memory.py).
    memory.MIGRATION,
    # 6 -> 7: who heard a line, and how NPCs feel about each other. `message_witnesses` holds
    # the bystanders the game named for a line (the conversation's own persona and the player
    # heard every line of it and are not repeated here); one table keyed by message id, so
    # archiving moves a line's rows with it. The foreign key makes deleting a line that still
    # has witnesses fail instead of orphaning them. `npc_relations` is NPC<->NPC affinity
    # (store/relations.py), seeded from persona files the first time a pair is touched.
    """
    CREATE TABLE message_witnesses (
        message_id  INTEGER NOT NULL REFERENCES messages(id),
        persona_id  TEXT NOT NULL,
        PRIMARY KEY (message_id, persona_id)
    ) WITHOUT ROWID;
    CREATE INDEX message_witnesses_persona ON message_witnesses(persona_id, message_id);
    CREATE TABLE npc_relations (
        persona_id  TEXT NOT NULL,
        other_id    TEXT NOT NULL,
        affinity    INTEGER NOT NULL CHECK (affinity BETWEEN 0 AND 100),
        updated_at  REAL NOT NULL,
        PRIMARY KEY (persona_id, other_id),
        CHECK (persona_id <> other_id)
    );
    """,
    # 7 -> 8: rolling summaries (store/summaries.py). One row per fold: the summary of lines
    # from_seq..to_seq of a conversation as one persona heard them, and the facts it had to
    # keep (JSON list of strings), so the next fold keeps them too. The newest row (highest
    # to_seq) is the one in force; older rows are kept as the summary's history.
    """
    CREATE TABLE summaries (
        id               INTEGER PRIMARY KEY,
        conversation_id  TEXT NOT NULL REFERENCES conversations(id),
        persona_id       TEXT NOT NULL,
        from_seq         INTEGER NOT NULL CHECK (from_seq >= 0),
        to_seq           INTEGER NOT NULL,
        text             TEXT NOT NULL,
        method           TEXT NOT NULL CHECK (method IN ('llm', 'extractive')),
        facts            TEXT NOT NULL DEFAULT '[]',
        at               REAL NOT NULL,
        CHECK (to_seq >= from_seq)
    );
    CREATE INDEX summaries_latest ON summaries(conversation_id, persona_id, to_seq);
    """,
    # 8 -> 9: history (issue 13 §4-5). `kind` tells a conversation from a scene; lines of
    # archived conversations move to `archive_messages` (same ids, same seqs: a memory's
    # source (conversation, seq) stays valid); `lines_fts` indexes every line, live or
    # archived, through the `all_lines` view it reads its text from (a line keeps its id
    # when it moves, so archiving never touches the index, and a line restored from the
    # archive is not indexed twice); the game's world facts.
    """
    ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'conversation';
    CREATE INDEX conversations_updated ON conversations(updated_at, id);
    CREATE INDEX conversations_persona ON conversations(persona_id, updated_at, id);
    CREATE INDEX conversations_player_updated ON conversations(player_id, updated_at, id);
    CREATE INDEX conversations_ended ON conversations(ended_at) WHERE archived_at IS NULL;
    CREATE TABLE archive_messages (
        id               INTEGER PRIMARY KEY,
        conversation_id  TEXT NOT NULL,
        seq              INTEGER NOT NULL,
        speaker          TEXT NOT NULL,
        name             TEXT NOT NULL,
        text             TEXT NOT NULL,
        at               REAL NOT NULL,
        sentiment        TEXT,
        compound         REAL,
        provider         TEXT,
        quality          INTEGER,
        retries          INTEGER NOT NULL DEFAULT 0,
        quality_rules    TEXT,
        arc              TEXT,
        stance           REAL,
        emotion          TEXT,
        intensity        REAL,
        UNIQUE (conversation_id, seq)
    );
    CREATE VIEW all_lines AS
        SELECT id, conversation_id, seq, speaker, name, text, at, 0 AS archived FROM messages
        UNION ALL
        SELECT id, conversation_id, seq, speaker, name, text, at, 1 AS archived FROM archive_messages;
    CREATE VIRTUAL TABLE lines_fts USING fts5(
        text, content='all_lines', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER messages_fts AFTER INSERT ON messages
    WHEN NOT EXISTS (SELECT 1 FROM archive_messages WHERE id = new.id) BEGIN
        INSERT INTO lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    INSERT INTO lines_fts(rowid, text) SELECT id, text FROM messages;
    CREATE TABLE world_facts (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        updated_at  REAL NOT NULL
    );
    """,
    # 9 -> 10: multi-NPC scenes (issue 14, store/scenes.py). A scene is a `conversations` row
    # of kind 'scene' whose `persona_id` is '' (no persona id is empty: a scene belongs to no
    # single NPC, and no NPC is taken to have heard all of it); `scenes` holds how it picks
    # its speakers, `scene_members` who is in it (present or gone), each member's own
    # conversation state (ConversationState JSON, as `conversations.memory` holds it) and
    # whether it has said goodbye. Who heard each scene line is in `message_witnesses`,
    # every NPC present at the moment, the speaker included.
    """
    CREATE TABLE scenes (
        conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id),
        strategy         TEXT NOT NULL CHECK (strategy IN ('natural', 'list', 'pooled', 'manual')),
        max_lines        INTEGER NOT NULL CHECK (max_lines BETWEEN 1 AND 32),
        max_tokens       INTEGER CHECK (max_tokens >= 1),
        talkativeness    REAL CHECK (talkativeness BETWEEN 0 AND 1),
        last_addressed   TEXT,
        exchanges        INTEGER NOT NULL DEFAULT 0 CHECK (exchanges >= 0)
    );
    CREATE TABLE scene_members (
        conversation_id  TEXT NOT NULL REFERENCES conversations(id),
        persona_id       TEXT NOT NULL CHECK (persona_id <> ''),
        ord              INTEGER NOT NULL,
        present          INTEGER NOT NULL CHECK (present IN (0, 1)),
        farewell         INTEGER NOT NULL DEFAULT 0 CHECK (farewell IN (0, 1)),
        state            TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (conversation_id, persona_id)
    ) WITHOUT ROWID;
    """,
    # 10 -> 11: a scene's cost budget per player line (USD, what its lines' provider calls
    # may cost before the exchange stops; NULL: none).
    """
    ALTER TABLE scenes ADD COLUMN max_usd REAL CHECK (max_usd >= 0);
    """,
    # 11 -> 12: fewer index pages written per turn. Every turn moves `conversations.updated_at`,
    # which rewrites an entry in each index holding it: `conversations_player` held it but
    # its one reader (witness.py's lines heard: player and persona) seeks on the pair alone,
    # and conversation paging by player uses `conversations_player_updated`, so the pair's
    # index drops it. `affinity_events_pair` has no reader: it was written on every
    # affinity change for nothing (a query that needs it brings it back).
    """
    DROP INDEX conversations_player;
    CREATE INDEX conversations_pair ON conversations(player_id, persona_id);
    DROP INDEX affinity_events_pair;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]
