"""History on real SQLite files: conversation.list pages, lines by seq, full-text search."""

from __future__ import annotations

import pytest
from history_support import talk

from sidecar.errors import BadRequest
from sidecar.store import history
from sidecar.store.db import Store


async def _pages(store: Store, limit: int, **filters: str) -> list[list[history.ConversationSummary]]:
    pages: list[list[history.ConversationSummary]] = []
    cursor: str | None = None
    while True:
        page = await store.run(
            history.list_conversations,
            player=filters.get("player"),
            persona=filters.get("persona"),
            limit=limit,
            cursor=cursor,
        )
        pages.append(page.conversations)
        if page.cursor is None:
            return pages
        cursor = page.cursor


async def test_list_is_newest_first_in_pages_that_cover_everything_once(store: Store) -> None:
    for i in range(7):
        await talk(
            store,
            f"c{i}",
            player="mira" if i % 2 else "tom",
            persona="ansel" if i < 4 else "goldie",
            lines=["Hi.", "Hello."] * (i + 1),
            ended=i != 6,
        )
    # Two conversations updated at the very same moment are ordered by id, never lost.
    store.conn.execute(
        "UPDATE conversations SET updated_at = (SELECT updated_at FROM conversations WHERE id='c2') WHERE id = 'c3'"
    )
    pages = await _pages(store, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [c for p in pages for c in p]
    assert sorted(c.conversation for c in flat) == [f"c{i}" for i in range(7)]
    assert [(c.updated_at, c.conversation) for c in flat] == sorted(
        ((c.updated_at, c.conversation) for c in flat), reverse=True
    )
    c5 = next(c for c in flat if c.conversation == "c5")
    assert (c5.player, c5.persona, c5.lines, c5.ended, c5.archived, c5.kind) == (
        "mira",
        "goldie",
        1 + 12,
        True,
        False,
        "conversation",
    )
    assert not next(c for c in flat if c.conversation == "c6").ended
    mira = [c.conversation for p in await _pages(store, 2, player="mira") for c in p]
    assert sorted(mira) == ["c1", "c3", "c5"]
    goldie_mira = [c.conversation for p in await _pages(store, 10, player="mira", persona="goldie") for c in p]
    assert sorted(goldie_mira) == ["c5"]


async def test_a_cursor_that_was_not_made_by_list_is_bad_request(store: Store) -> None:
    for bad in ("nonsense", "1.5/", "nan/c1", "/c1"):
        with pytest.raises(BadRequest):
            await store.run(history.list_conversations, player=None, persona=None, limit=5, cursor=bad)


async def test_lines_have_seq_and_page_back_with_before(store: Store) -> None:
    await talk(store, "c1", lines=[f"line {i}" for i in range(10)])
    every = await store.run(history.lines, "c1", limit=None, before=None)
    assert [r.seq for r in every] == list(range(11))
    assert every[0].text == "Welcome, mira."
    back = await store.run(history.lines, "c1", limit=3, before=7)
    assert [r.seq for r in back] == [4, 5, 6]
    assert [r.seq for r in await store.run(history.lines, "c1", limit=None, before=2)] == [0, 1]
    assert await store.run(history.lines, "c1", limit=5, before=0) == []
    assert (await store.run(history.line_at, "c1", 3)) == every[3]
    assert await store.run(history.line_at, "c1", 99) is None


async def test_search_is_best_first_with_bbcode_snippets(store: Store) -> None:
    await talk(store, "c1", lines=["Can you mend my sword?", "A fine blade. Swords are my trade, sword after sword."])
    await talk(store, "c2", player="tom", persona="goldie", lines=["Any rooms free?", "One, by the [b]stairs[/b]."])
    await talk(store, "c3", lines=["The weather is grim.", "Rain all week."])
    hits = await store.run(history.search, "sword", persona=None, player=None, limit=10)
    assert [(h.conversation, h.seq) for h in hits] == [("c1", 2), ("c1", 1)]  # three mentions rank first
    assert hits[0].speaker == "ansel" and not hits[0].archived
    assert "[b]Swords[/b]" in hits[0].snippet and "[b]sword[/b]" in hits[0].snippet
    assert hits[1].snippet == "Can you mend my [b]sword[/b]?"
    assert hits[1].text == "Can you mend my sword?"
    # The line's own brackets can never open a tag in a RichTextLabel.
    (stairs,) = await store.run(history.search, "stairs", persona=None, player=None, limit=10)
    assert stairs.snippet == "One, by the [lb]b][b]stairs[/b][lb]/b]."
    assert await store.run(history.search, "sword", persona="goldie", player=None, limit=10) == []
    assert len(await store.run(history.search, "sword", persona=None, player="mira", limit=1)) == 1
    # Every word is required.
    assert [h.seq for h in await store.run(history.search, "mend sword", persona=None, player=None, limit=9)] == [1]


@pytest.mark.parametrize(
    "query",
    [
        '"sword',
        "sword*",
        "-sword",
        "sword NEAR mend",
        "NEAR(sword mend)",
        "sword AND",
        "OR sword",
        "text:sword",
        "(sword",
        "sword)",
        "^sword",
        "sword + mend",
        "{sword}",
    ],
)
async def test_a_query_is_words_never_fts_syntax(store: Store, query: str) -> None:
    await talk(store, "c1", lines=["Can you mend my sword?", "Near the forge, yes."])
    hits = await store.run(history.search, query, persona=None, player=None, limit=10)
    words = set(history.match_expression(query).replace('"', "").lower().split())  # type: ignore[union-attr]
    for hit in hits:  # whatever it finds holds every word of the query
        assert words <= set(hit.text.lower().replace("?", "").replace(",", "").replace(".", "").split())
    assert any(h.seq == 1 for h in hits) == (words <= {"can", "you", "mend", "my", "sword"})


async def test_an_empty_query_is_bad_request_and_punctuation_finds_nothing(store: Store) -> None:
    await talk(store, "c1", lines=["Can you mend my sword?", "Yes."])
    for empty in ("", "   ", "\t\n"):
        with pytest.raises(BadRequest):
            await store.run(history.search, empty, persona=None, player=None, limit=10)
    for nothing in ("*", '""', "- -", "?!"):
        assert await store.run(history.search, nothing, persona=None, player=None, limit=10) == []


async def test_only_the_newest_matches_are_scored(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await talk(store, "c1", lines=["Sword sword sword.", "A long line that names the sword only once, at the end."])
    await talk(store, "c2", lines=["Sword sword.", "Sword."])
    monkeypatch.setattr(history, "MAX_RANKED", 3)
    hits = await store.run(history.search, "sword", persona=None, player=None, limit=10)
    # The three newest matches, best first; the oldest (and best) line is past the bound.
    assert [(h.conversation, h.seq) for h in hits] == [("c2", 1), ("c2", 2), ("c1", 2)]
    monkeypatch.setattr(history, "MAX_RANKED", 10)
    assert [
        (h.conversation, h.seq) for h in await store.run(history.search, "sword", persona=None, player=None, limit=1)
    ] == [("c1", 1)]
