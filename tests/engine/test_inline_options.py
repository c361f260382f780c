"""The answer-options block that comes with an LLM's line: held back from the stream, parsed
into options, and absent without harm."""

from __future__ import annotations

import json

import pytest

from sidecar.engine import inline_options
from sidecar.engine.emotion import EMOTIONS
from sidecar.engine.inline_options import MARKER, Split, emotion, instruction, options
from sidecar.llm.prompt import StreamCleaner, clean_reply

LINE = "Aye, the forge is hot today. Mind the sparks, friend."
BLOCK = f"{MARKER}\nask: What are you making today?\nshare: My uncle was a smith too.\nleave: I will let you work."


def run(text: str, size: int) -> tuple[str, str | None]:
    split = Split(StreamCleaner(["Ansel"], "Ana"))
    shown = "".join(split.feed(text[i : i + size]) for i in range(0, len(text), size)) + split.finish()
    return shown, split.block


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_the_block_is_held_back_whatever_the_chunking(size: int) -> None:
    shown, block = run(f"{LINE}\n{BLOCK}", size)
    assert shown == LINE
    assert block == BLOCK
    options = inline_options.options(block)
    assert [(o.intent, o.text) for o in options] == [
        ("ask", "What are you making today?"),
        ("share", "My uncle was a smith too."),
        ("leave", "I will let you work."),
    ]


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_a_reply_without_a_block_is_the_cleaned_reply(size: int) -> None:
    text = "Ansel: Look at this bracket [old work], friend. It is the best I have"
    shown, block = run(text, size)
    assert block is None
    assert shown == clean_reply(text, ["Ansel"], "Ana")


def test_a_held_back_marker_prefix_at_the_end_is_shown() -> None:
    shown, block = run("Nothing ends with [opt", 1)
    assert block is None and shown == "Nothing ends with [opt"


def test_a_model_that_forgets_the_marker_is_split_at_its_first_option() -> None:
    shown, block = run(f"{LINE}\nAsk: What are you making?\nshare: I like iron.\nleave: Goodbye.", 3)
    assert shown == LINE
    assert block is not None
    assert [o.intent for o in inline_options.options(block)] == ["ask", "share", "leave"]


def test_a_reserved_emotion_line_is_not_an_option() -> None:
    options = inline_options.options(f"{MARKER}\nemotion: joy\nask: What are you making today?")
    assert [(o.intent, o.text) for o in options] == [("ask", "What are you making today?")]


def test_a_block_without_usable_options_gives_none() -> None:
    assert inline_options.options(f"{MARKER}\n") == []
    assert inline_options.options(f"{MARKER}\n```\n{{}}\n```") == []


# --- the memory line ------------------------------------------------------------------------

PROMISE = {"kind": "promise", "text": "The player promised to bring me a trout.", "importance": 6, "said_by": "player"}
MEMORY = f"memory: {json.dumps({'memories': [PROMISE]})}"


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_the_memory_line_is_held_back_and_read(size: int) -> None:
    shown, block = run(f"{LINE}\n{BLOCK}\n{MEMORY}", size)
    assert shown == LINE and block is not None
    assert [(m.kind, m.text, m.importance) for m in inline_options.memories(block) or []] == [
        ("promise", "The player promised to bring me a trout.", 6)
    ]
    assert [o.intent for o in inline_options.options(block)] == ["ask", "share", "leave"]


def test_a_model_that_forgets_the_marker_is_split_at_its_memory_line() -> None:
    shown, block = run(f"{LINE}\n{MEMORY}", 4)
    assert shown == LINE and block is not None and inline_options.memories(block)


def test_a_fenced_multiline_memory_line_is_no_option() -> None:
    pretty = json.dumps({"memories": [PROMISE]}, indent=2)
    block = f"{MARKER}\nMemory: ```json\n{pretty}\n```\nask: What are you making today?"
    assert [m.kind for m in inline_options.memories(block) or []] == ["promise"]
    assert [(o.intent, o.text) for o in inline_options.options(block)] == [("ask", "What are you making today?")]


def test_an_empty_memory_list_is_an_answer_and_garbage_is_not() -> None:
    assert inline_options.memories(f'{BLOCK}\nmemory: {{"memories": []}}') == []
    assert inline_options.memories(BLOCK) is None
    assert inline_options.memories(f"{BLOCK}\nmemory: the trout") is None
    assert inline_options.memories(f'{BLOCK}\nmemory: {{"memories": [{{"kind": "gossip"}}]}}') is None
    assert [o.intent for o in inline_options.options(f"{BLOCK}\nmemory: the trout")] == ["ask", "share", "leave"]


def test_the_instruction_asks_for_memories_only_when_told() -> None:
    assert "memory:" not in inline_options.instruction("Ansel")
    asked = inline_options.instruction("Ansel", memories=True)
    assert "memory:" in asked and '"said_by"' in asked and "promises made by either side" in asked


def test_the_emotion_line_is_read_held_back_and_no_option() -> None:
    block = "[options]\nask: What is that?\nshare: I like iron.\nleave: I must go.\nemotion: Joy"
    assert emotion(block) == "Joy"  # as written; `settle` accepts it (any case)
    assert emotion("[options]\nask: What is that?") is None
    assert [o.intent for o in options(block)] == ["ask", "share", "leave"]
    # A model that writes the emotion line without the marker: it is split there, never said.
    split = Split(StreamCleaner(("Ansel",), "Mira"))
    said = split.feed("Mind the sparks.\nemotion: fear") + split.finish()
    assert "emotion" not in said.lower() and emotion(split.block or "") == "fear"


def test_the_instruction_names_the_eight_emotions() -> None:
    text = instruction("Ansel")
    assert "emotion:" in text and all(e in text for e in EMOTIONS)
