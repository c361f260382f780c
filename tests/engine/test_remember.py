"""What the line-reading heuristics remember from a line, a provider's extraction parsed (or
refused), recall ranking, and a memory said back to the player (sidecar/engine/remember.py,
sidecar/engine/recollect.py)."""

from __future__ import annotations

import json

import pytest

from sidecar.engine import remember
from sidecar.engine import tone as tones
from sidecar.engine.reading import read
from sidecar.engine.recollect import RecallWeights, query_words, rank
from sidecar.store.memory import Memory, MemorySource


def found(player: str, npc: str = "") -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in remember.heuristics(read(player), player, npc, tones.read(player, ["Ansel"]))]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("I'm Mira.", [("name", "The player's name is Mira.")]),
        ("Call me Wren, please.", [("name", "The player's name is Wren.")]),
        ("I love walking my dog.", [("like", "The player loves walking their dog.")]),
        ("I don't like the cold.", [("dislike", "The player doesn't like the cold.")]),
        ("I promise I'll bring you a fresh trout.", [("promise", "The player promised to bring me a fresh trout.")]),
        ("You have my word: I will mend your gate.", [("promise", "The player promised to mend my gate.")]),
        ("I swear I won't tell a soul about your roses.",
         [("promise", "The player promised not to tell a soul about my roses.")]),
        ("I'll come back tomorrow with the money.",
         [("promise", "The player promised to come back tomorrow with the money.")]),
        ("Here is a horseshoe for your mare.", [("gift", "The player gave me a horseshoe for my mare.")]),
        ("This pie is for you.", [("gift", "The player gave me this pie.")]),
        ("I fixed your fence last night.", [("favour", "The player fixed my fence last night.")]),
        ("Sorry, that was unkind of me.", [("event", "The player apologised to me.")]),
        ("I swear I'll find your ring.", [("promise", "The player promised to find my ring.")]),
        ("I vow to protect this village.", [("promise", "The player promised to protect this village.")]),
        ("I will be back tomorrow.", [("promise", "The player promised to be back tomorrow.")]),
        ("I have a gift for you: a silver ring.", [("gift", "The player gave me a silver ring.")]),
        ("Here's a pie for you.", [("gift", "The player gave me a pie.")]),
        ("No one knows I can't read.", [("secret", 'The player told me a secret: "No one knows I can\'t read."')]),
    ],
)
def test_the_rules_read_a_line(line: str, expected: list[tuple[str, str]]) -> None:
    assert found(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Hello there.", "How's work?", "Tell me about yourself.", "blorp zzz qwerty", "I'll have the stew, please.",
        "If I come back tomorrow, will you be here?", "What do you think of the weather?", "", "   ", "!!!",
        "I'm tired.", "I promise", "Do you promise to keep it?", "I'll take that as a yes.",
        "I swear, this village is mad.", "Here is my question: what time is it?",
        "Here's the thing, I don't trust Rook.",
        "Nobody knows where the mayor went.", "I'll be going then.", "I like you.", "I love you, Ansel.",
        "Are you still angry about the cat thing?",
        "Did I promise you something?", "Didn't I promise you I'd bring a trout?",
    ],
)
def test_small_talk_questions_and_nonsense_leave_nothing(line: str) -> None:
    assert found(line) == []


def test_a_secret_is_quoted_and_no_quarrel_and_no_promise_to_tell() -> None:
    kinds = dict(found("Between you and me, I stole the mayor's pig, you fool."))
    assert kinds == {"secret": 'The player told me a secret: "Between you and me, I stole the mayor\'s pig, you fool."'}
    assert [k for k, _ in found("Promise not to tell anyone: I'm the lost heir.")] == ["secret"]


def test_an_insult_is_a_quarrel() -> None:
    assert found("You are a useless, stupid oaf.") == [
        ("quarrel", 'The player insulted me: "You are a useless, stupid oaf."')
    ]


def test_the_npcs_own_promise_is_sourced_to_its_line() -> None:
    made = remember.npc_events("Of course. I promise I'll have your sword mended by Thursday.")
    assert [(m.kind, m.text, m.line) for m in made] == [
        ("promise", "I promised to have the player's sword mended by Thursday.", 1)
    ]
    assert remember.npc_events("I'll think about it.") == []


def test_an_object_ends_where_the_next_clause_starts() -> None:
    assert found("I promise I'll fix your bellows, but the river is high.") == [
        ("promise", "The player promised to fix my bellows.")
    ]
    assert dict(found("I'll mend your bellows one day, I love old maps."))["promise"] == (
        "The player promised to mend my bellows one day."
    )


def test_a_huge_line_is_read_only_at_its_start() -> None:
    line = "I promise I'll bring you a trout. " + "blah " * 5000
    made = remember.heuristics(read(line), line, "", None)
    assert [m.kind for m in made] == ["promise"] and all(len(m.text) <= 400 for m in made)


# --- a provider's extraction ----------------------------------------------------------------


def test_a_valid_extraction_is_parsed() -> None:
    text = json.dumps({"memories": [
        {"kind": "name", "text": "The player is called Mira.", "importance": 8, "said_by": "player"},
        {"kind": "promise", "text": "I promised to mend the player's  sword.", "importance": 7, "said_by": "npc"},
    ]})
    made = remember.parse_extraction("```json\n" + text + "\n```")
    assert made is not None
    assert [(m.kind, m.text, m.importance, m.line, m.key) for m in made] == [
        ("name", "The player is called Mira.", 8, 0, "name"),
        ("promise", "I promised to mend the player's sword.", 7, 1, "promise:i promised to mend the player's sword"),
    ]
    assert remember.parse_extraction('{"memories": []}') == []


@pytest.mark.parametrize(
    "text",
    [
        "", "not json", "[]", '{"memories": {}}', '{"memory": []}', "null",
        '{"memories": [{"kind": "gossip", "text": "x", "importance": 5, "said_by": "player"}]}',
        '{"memories": [{"kind": "event", "text": "", "importance": 5, "said_by": "player"}]}',
        '{"memories": [{"kind": "event", "text": "x", "importance": 0, "said_by": "player"}]}',
        '{"memories": [{"kind": "event", "text": "x", "importance": true, "said_by": "player"}]}',
        '{"memories": [{"kind": "event", "text": "x", "importance": 5, "said_by": "goat"}]}',
        '{"memories": [{"kind": "event", "text": "x", "importance": 5}]}',
        '{"memories": ["x"]}',
        json.dumps({"memories": [{"kind": "event", "text": "x" * 401, "importance": 5, "said_by": "player"}]}),
        json.dumps({"memories": [{"kind": "event", "text": f"x{i}", "importance": 5, "said_by": "player"}
                                 for i in range(remember.MAX_EXTRACTED + 1)]}),
    ],
)
def test_garbage_is_refused_whole(text: str) -> None:
    assert remember.parse_extraction(text) is None


def test_the_rules_name_is_kept_beside_a_provider_reading_without_one() -> None:
    rules = remember.heuristics(read("I'm Mira."), "I'm Mira.", "", None)
    assert [m.kind for m in remember.with_name([], rules)] == ["name"]
    own = remember.parse_extraction(json.dumps({"memories": [
        {"kind": "name", "text": "The player's name is Mirabel.", "importance": 8, "said_by": "player"}]}))
    assert own is not None and [m.text for m in remember.with_name(own, rules)] == ["The player's name is Mirabel."]


# --- saying a memory ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("The player loves fishing.", "you love fishing"),
        ("The player doesn't like rain.", "you don't like rain"),
        ("The player's name is Mira.", "your name is Mira"),
        ("The player gave me the trout they promised.", "you gave me the trout you promised"),
        ("I promised to mend the player's sword.", "I promised to mend your sword"),
        ("The player saved the mill.", "you saved the mill"),
        ("Mira promised to bring me a trout.", "Mira promised to bring me a trout"),
        ("A storm flooded the mill.", "A storm flooded the mill"),
    ],
)
def test_a_memory_said_to_the_player(text: str, said: str) -> None:
    assert remember.spoken(text) == said


def test_a_promise_said_later_leaves_out_when_it_was_due() -> None:
    assert remember.without_when("The player promised to bring me a trout next time.") == (
        "The player promised to bring me a trout."
    )
    assert remember.without_when("The player promised to bring me a trout tomorrow") == (
        "The player promised to bring me a trout"
    )


def _memory(mid: int, kind: str, text: str, importance: int, at: float, conversation: str | None = "c1") -> Memory:
    source = MemorySource(conversation, 1) if conversation else None
    return Memory(mid, "p", "ansel", kind, text, importance, at, source, key=f"k{mid}")  # type: ignore[arg-type]


def test_a_gift_keeps_the_promise_it_shares_a_word_with() -> None:
    promise = _memory(1, "promise", "The player promised to bring me a fresh trout.", 8, 0)
    other = _memory(2, "promise", "The player promised to bring me a lantern.", 8, 0)
    npc_own = _memory(3, "promise", "I promised to bring the player a trout.", 8, 0)
    assert remember.fulfilled("The player gave me the trout they promised.", [npc_own, other, promise]) == promise
    assert remember.fulfilled("The player gave me a pie.", [promise, other]) is None
    kept = remember.kept(promise)
    assert (kept.kind, kept.text, kept.key) == ("event", "The player kept their promise to bring me a fresh trout.",
                                                promise.key)


def test_saying_it_is_done_keeps_the_promise_it_names() -> None:
    bridge = _memory(1, "promise", "The player promised to report any trouble at the bridge.", 8, 0)
    trout = _memory(2, "promise", "The player promised to bring me a fresh trout.", 8, 0)
    said = "I reported the trouble at the bridge, as promised."
    assert remember.promise_kept(said, [], [trout, bridge]) == bridge
    assert remember.promise_kept("As promised, the weather is fine.", [], [trout, bridge]) is None
    assert remember.promise_kept("I reported the trouble at the bridge.", [], [bridge]) is None, "no cue: no claim"
    gift = remember.heuristics(read("Here is the trout."), "Here is the trout.", "", None)
    assert remember.promise_kept("Here is the trout.", gift, [bridge, trout]) == trout


# --- ranking ------------------------------------------------------------------------------------


def test_rank_normalises_each_part_and_follows_the_weights() -> None:
    now = 1_000_000.0
    old_important = _memory(1, "secret", "old and important", 9, now - 240 * 3600)
    new_trivial = _memory(2, "event", "new and trivial", 2, now - 60)
    relevant = _memory(3, "like", "relevant", 4, now - 48 * 3600)
    cands = [(old_important, 0.0), (new_trivial, 0.0), (relevant, 2.5)]
    assert rank(cands, now=now, weights=RecallWeights(1, 0, 0))[0].memory is new_trivial
    assert rank(cands, now=now, weights=RecallWeights(0, 1, 0))[0].memory is old_important
    top = rank(cands, now=now, weights=RecallWeights(0, 0, 1))[0]
    assert top.memory is relevant and top.relevant and top.relevance == 1.0
    scores = [r.score for r in rank(cands, now=now, weights=RecallWeights(1, 1, 1))]
    assert max(scores) <= 3.0 and min(scores) >= 0.0
    assert rank([], now=now) == []


def test_minutes_apart_is_no_recency_difference() -> None:
    """Recency is not min-max stretched: memories made minutes apart rank by importance."""
    now = 1_000_000.0
    name = _memory(1, "name", "The player's name is Mira.", 8, now - 600)
    small = _memory(2, "event", "The player apologised to me.", 4, now - 5)
    assert rank([(small, 0.0), (name, 0.0)], now=now)[0].memory is name


def test_rank_marks_what_came_from_an_earlier_meeting() -> None:
    now = 1_000_000.0
    here, before, added = (_memory(1, "name", "x", 8, now, "c2"), _memory(2, "name", "y", 8, now, "c1"),
                           _memory(3, "event", "z", 5, now, None))
    earlier = {r.memory.id: r.earlier for r in rank([(here, 0), (before, 0), (added, 0)], now=now, conversation="c2")}
    assert earlier == {1: False, 2: True, 3: True}


def test_query_words_leave_out_function_words() -> None:
    assert query_words("Did you find the dog I lost?") == ["find", "dog", "lost"]


@pytest.mark.parametrize("bad", [{"recency": -1.0}, {"decay_per_hour": 0.0}, {"decay_per_hour": 1.5}, {"limit": -1}])
def test_bad_weights_are_a_config_error(bad: dict[str, float]) -> None:
    from sidecar.errors import ConfigError

    with pytest.raises(ConfigError):
        RecallWeights(**bad)  # type: ignore[arg-type]


def test_a_quoted_line_said_back_has_one_full_stop() -> None:
    said = remember.spoken('The player insulted me: "Rook, you are a terrible bard."')
    assert said == 'you insulted me: "Rook, you are a terrible bard"'
    assert remember.spoken('The player told me a secret: "Are you mad?"').endswith('"Are you mad?"')
