"""Answer-option parsing (every malformed shape an LLM produces) and the final three."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.options import (
    INTENTS,
    MAX_WORDS,
    OPTIONS_SCHEMA,
    RESERVE,
    clean_text,
    finalize,
    infer_intent,
    introduces,
    key,
    normalize_intent,
    options_prompt,
    parse,
)
from sidecar.engine.pipeline.offer import LazyOptions
from sidecar.engine.types import Option

SEED_ANSWER = (
    "1. What happened? Want to talk about it?\n"
    "2. I know the feeling, my day was rough too.\n"
    "3. Hope tomorrow is better. Talk later?"
)
SEED_OPTIONS = [
    ("What happened? Want to talk about it?", "ask"),
    ("I know the feeling, my day was rough too.", "share"),
    ("Hope tomorrow is better. Talk later?", "leave"),
]
FALLBACK = [
    Option("What brings you to the forge?", "ask"),
    Option("I worked iron once, long ago.", "share"),
    Option("I'll let you get back to work.", "leave"),
]


def pairs(options: list[Option]) -> list[tuple[str, str]]:
    return [(o.text, o.intent) for o in options]


def texts(options: list[Option]) -> list[str]:
    return [o.text for o in options]


# --- JSON -------------------------------------------------------------------------------


def test_json_object_with_options() -> None:
    raw = json.dumps({"options": [{"text": t, "intent": i} for t, i in SEED_OPTIONS]})
    assert pairs(parse(raw)) == SEED_OPTIONS


def test_json_plain_list_of_strings_infers_intents() -> None:
    raw = json.dumps([t for t, _ in SEED_OPTIONS])
    assert pairs(parse(raw)) == SEED_OPTIONS


def test_json_in_code_fence_with_chatter() -> None:
    raw = "Sure! Here you go:\n```json\n" + json.dumps({"options": ["Why?", "Me too."]}) + "\n```"
    assert pairs(parse(raw)) == [("Why?", "ask"), ("Me too.", "share")]


def test_json_embedded_in_prose() -> None:
    raw = 'Options follow {"options": [{"text": "Why so glum?", "intent": "question"}]} done'
    assert pairs(parse(raw)) == [("Why so glum?", "ask")]


def test_json_synonym_keys_and_intents() -> None:
    raw = json.dumps(
        {"choices": [{"option": "Tell me more", "type": "follow-up"}, {"content": "Bye", "kind": "exit"}]}
    )
    assert pairs(parse(raw)) == [("Tell me more", "ask"), ("Bye", "leave")]


def test_json_nested_object() -> None:
    raw = json.dumps({"result": {"options": [{"text": "Why?", "intent": "curious"}]}})
    assert pairs(parse(raw)) == [("Why?", "ask")]


def test_json_other_intents_pass_through_and_garbage_intents_are_inferred() -> None:
    raw = json.dumps(
        {"options": [{"text": "You look lovely today.", "intent": "flirt"}, {"text": "Bye now.", "intent": 7}]}
    )
    assert pairs(parse(raw)) == [("You look lovely today.", "flirt"), ("Bye now.", "leave")]


def test_json_without_options_is_empty_not_garbage() -> None:
    assert parse('{"error": "rate limited"}') == []
    assert parse('{"options": []}') == []
    assert parse("[1, 2, null, {}]") == []


def test_json_items_are_cleaned_like_lines() -> None:
    raw = json.dumps({"options": ["1. What happened?", "  ", "!!!", '"Same here."']})
    assert texts(parse(raw)) == ["What happened?", "Same here."]


# --- line formats -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        SEED_ANSWER,
        SEED_ANSWER.replace("1.", "1)").replace("2.", "2)").replace("3.", "3)"),
        SEED_ANSWER.replace("1.", "(1)").replace("2.", "(2)").replace("3.", "(3)"),
        SEED_ANSWER.replace("1.", "-").replace("2.", "*").replace("3.", "\u2022"),
        "Here are three options:\n" + SEED_ANSWER + "\nHope this helps!",
        "\n".join(f'{i}. "{t}"' for i, (t, _) in enumerate(SEED_OPTIONS, 1)),
        "\n".join(f"\u201c{t}\u201d" for t, _ in SEED_OPTIONS),
        " ".join(f"{i}. {t}" for i, (t, _) in enumerate(SEED_OPTIONS, 1)),
        " | ".join(t for t, _ in SEED_OPTIONS),
        "\n".join(f"Option {i}: {t}" for i, (t, _) in enumerate(SEED_OPTIONS, 1)),
        "\n\n".join(f"  {i}.   {t}  " for i, (t, _) in enumerate(SEED_OPTIONS, 1)),
    ],
    ids=[
        "numbered-dot", "numbered-paren", "numbered-parens", "bulleted", "with-chatter",
        "quoted", "curly-quoted", "one-line", "pipes", "option-n", "spacing",
    ],
)
def test_line_formats(raw: str) -> None:
    assert pairs(parse(raw)) == SEED_OPTIONS


@pytest.mark.parametrize(
    "raw",
    [
        "Question: What happened?\nShare: Same here, friend.\nExit: I should go now.",
        "**Question:** What happened?\n**Share:** Same here, friend.\n**Exit:** I should go now.",
        "ask: What happened?\nshare: Same here, friend.\nleave: I should go now.",
        "[ask] What happened?\n[share] Same here, friend.\n[leave] I should go now.",
        "1. Follow-up question: What happened?\n2. Personal share: Same here, friend.\n"
        "3. Topic change: I should go now.",
        "What happened? (question)\nSame here, friend. (share)\nI should go now. (exit)",
    ],
    ids=["labels", "bold-labels", "strict-format", "bracket-tags", "long-labels", "tail-tags"],
)
def test_labels_set_intents_and_are_removed(raw: str) -> None:
    assert pairs(parse(raw)) == [
        ("What happened?", "ask"),
        ("Same here, friend.", "share"),
        ("I should go now.", "leave"),
    ]


def test_label_beats_inference() -> None:
    assert pairs(parse("Share: Why do I always burn the bread?")) == [
        ("Why do I always burn the bread?", "share")
    ]


def test_too_many_are_all_returned_for_finalize_to_choose() -> None:
    raw = "\n".join(f"{i}. Option number {i} here." for i in range(1, 7))
    assert len(parse(raw)) == 6


def test_too_few() -> None:
    assert pairs(parse("1. Why?")) == [("Why?", "ask")]


def test_duplicates_are_case_and_punctuation_insensitive() -> None:
    raw = "1. What happened?\n2. what happened!\n3. WHAT  HAPPENED\n4. Bye."
    assert texts(parse(raw)) == ["What happened?", "Bye."]


@pytest.mark.parametrize("raw", ["", "   \n\n  ", "1.\n2.\n3.", "- \n* \n\u2022", "...", "```\n```"])
def test_empty(raw: str) -> None:
    assert parse(raw) == []


def test_over_long_is_trimmed_at_a_sentence_end_when_there_is_one() -> None:
    raw = "1. Really? Tell me everything about the strange lights you saw by the mill tonight."
    assert texts(parse(raw)) == ["Really?"]


def test_over_long_is_trimmed_at_a_word_boundary() -> None:
    raw = "1. Could you tell me more about the strange lights you saw near the mill?"
    (option,) = parse(raw)
    assert option.text == "Could you tell me more about the strange lights?"
    assert len(option.text.split()) <= MAX_WORDS and option.intent == "ask"


def test_over_long_prose_is_dropped() -> None:
    prose = " ".join(["word"] * 30)
    assert parse(f"1. Why?\n2. {prose}") == [Option("Why?", "ask")]


def test_no_digits_or_dashes_eaten_from_the_text() -> None:
    # The seed's strip('123.-) ') turned "Give me 10" into "Give me ".
    assert texts(parse("1. Give me 10\n2. Is it 3:00 already?\n3. Maybe -5 gold")) == [
        "Give me 10",
        "Is it 3:00 already?",
        "Maybe -5 gold",
    ]


def test_apostrophes_are_not_quotes() -> None:
    assert texts(parse("'Tis a fine day.\n'I'm fine,' I say.")) == [
        "'Tis a fine day.",
        "'I'm fine,' I say.",
    ]


def test_ai_talk_is_not_an_option() -> None:
    assert parse("As an AI language model, I can't suggest replies.") == []
    assert texts(parse("1. Why?\n2. I cannot help with that request.")) == ["Why?"]


def test_unmarked_chatter_is_dropped_when_a_list_is_present() -> None:
    raw = "Sure thing, friend.\n- Why?\n- Same.\nLet me know if you need more."
    assert texts(parse(raw)) == ["Why?", "Same."]


def test_letters_speaker_labels_and_trailing_explanations() -> None:
    assert texts(parse("Option A: Why?\nOption B: Same.\nOption C: Bye.")) == ["Why?", "Same.", "Bye."]
    assert texts(parse("A) Why?\nB) Same.\nC) Bye.")) == ["Why?", "Same.", "Bye."]
    assert texts(parse("Player: Why?\nYou: Same here.")) == ["Why?", "Same here."]
    raw = '1. "What happened?" - shows curiosity\n2. "Same." - builds rapport'
    assert texts(parse(raw)) == ["What happened?", "Same."]


def test_plain_lines_without_markers_are_options() -> None:
    assert texts(parse("Why?\nSame here.\nBye.")) == ["Why?", "Same here.", "Bye."]


# --- helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("What happened?", "ask"),
        ("Tell me about the mill", "ask"),
        ("I know the feeling.", "share"),
        ("Hope tomorrow is better. Talk later?", "leave"),
        ("Let's talk about something else.", "leave"),
        ("I should go. Goodbye!", "leave"),
        ("What happened later that night?", "ask"),
    ],
)
def test_infer_intent(text: str, intent: str) -> None:
    assert infer_intent(text) == intent


def test_normalize_intent() -> None:
    assert normalize_intent("Follow-Up") == "ask"
    assert normalize_intent("topic_change") == "leave"
    assert normalize_intent("Personal share") == "share"
    assert normalize_intent("flirt") == "flirt"
    assert normalize_intent("!!") is None
    assert normalize_intent(3) is None


def test_clean_text() -> None:
    assert clean_text('  "Why   so glum?"  ') == "Why so glum?"
    assert clean_text("?!") is None
    long = "I know the feeling and I really wish the cart had not broken"
    assert clean_text(long) == "I know the feeling and I really wish the cart."


# --- finalize -----------------------------------------------------------------------------


def test_finalize_orders_by_intent_and_keeps_three() -> None:
    cands = [Option("Bye.", "leave"), Option("Me too.", "share"), Option("Why?", "ask")]
    assert pairs(finalize(cands, last_player_line=None, fallback=FALLBACK)) == [
        ("Why?", "ask"),
        ("Me too.", "share"),
        ("Bye.", "leave"),
    ]


def test_finalize_too_many_prefers_one_of_each_intent() -> None:
    cands = [Option(f"Question {i}?", "ask") for i in range(4)] + [Option("Bye.", "leave")]
    result = finalize(cands, last_player_line=None, fallback=FALLBACK)
    assert pairs(result) == [("Question 0?", "ask"), (FALLBACK[1].text, "share"), ("Bye.", "leave")]


def test_finalize_too_few_tops_up_from_fallback_by_intent() -> None:
    result = finalize([Option("Why?", "ask")], last_player_line=None, fallback=FALLBACK)
    assert pairs(result) == [("Why?", "ask"), *((o.text, o.intent) for o in FALLBACK[1:])]


def test_finalize_none_at_all_uses_fallback() -> None:
    assert finalize([], last_player_line=None, fallback=FALLBACK) == FALLBACK


def test_finalize_prefers_candidates_over_reserve_when_fallback_is_empty() -> None:
    cands = [Option("Why?", "ask"), Option("How?", "ask")]
    result = finalize(cands, last_player_line=None, fallback=[])
    assert pairs(result) == [("Why?", "ask"), ("How?", "ask"), (RESERVE[2].text, "leave")]


def test_finalize_never_repeats_the_last_player_line() -> None:
    cands = [Option("What happened?", "ask"), Option("Me too.", "share"), Option("Bye.", "leave")]
    result = finalize(cands, last_player_line="what happened", fallback=FALLBACK)
    assert "What happened?" not in texts(result)
    assert result[0] == FALLBACK[0]


def test_finalize_duplicates_are_removed_before_choosing() -> None:
    cands = [Option("Why?", "ask"), Option("why!", "share"), Option("WHY", "leave")]
    result = finalize(cands, last_player_line=None, fallback=FALLBACK)
    assert texts(result) == ["Why?", FALLBACK[1].text, FALLBACK[2].text]


def test_finalize_with_nothing_uses_reserve() -> None:
    result = finalize([], last_player_line=RESERVE[0].text, fallback=[])
    assert len({key(o.text) for o in result}) == 3
    assert [o.intent for o in result] == list(INTENTS)
    assert RESERVE[0] not in result


def test_finalize_cleans_raw_fallback() -> None:
    noisy = [Option('  "What brings you to the forge on such a fine and sunny day my friend?" ', "ask")]
    (first, *_) = finalize([], last_player_line=None, fallback=noisy)
    assert len(first.text.split()) <= MAX_WORDS and not first.text.startswith('"')


def test_finalize_does_not_mutate_inputs() -> None:
    cands = [Option("Why?", "ask")]
    fb = list(FALLBACK)
    finalize(cands, last_player_line=None, fallback=fb)
    assert cands == [Option("Why?", "ask")] and fb == FALLBACK


# --- schema and prompt --------------------------------------------------------------------


def test_schema_is_strict_mode_friendly_and_matches_parse() -> None:
    item = OPTIONS_SCHEMA["properties"]["options"]["items"]
    assert item["required"] == ["text", "intent"] and item["additionalProperties"] is False
    assert set(item["properties"]["intent"]["enum"]) == set(INTENTS)
    assert OPTIONS_SCHEMA["additionalProperties"] is False
    conforming = {"options": [{"text": t, "intent": i} for t, i in SEED_OPTIONS]}
    assert pairs(parse(json.dumps(conforming))) == SEED_OPTIONS


def test_prompt_strict_format_round_trips_through_parse() -> None:
    prompt = options_prompt('I had such a "stressful"\nday at work.', "Mara")
    assert 'Mara just said to the player: "I had such a \'stressful\' day at work."' in prompt
    assert "ask: <reply>\nshare: <reply>\nleave: <reply>" in prompt
    model_answer = "ask: What happened at work?\nshare: My day was long too.\nleave: Rest well, see you."
    assert [o.intent for o in parse(model_answer)] == list(INTENTS)


def test_prompt_structured_mentions_json() -> None:
    prompt = options_prompt("Hello.", "Mara", structured=True)
    assert '"options"' in prompt and "ask: <reply>" not in prompt


# --- properties ---------------------------------------------------------------------------

_option_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["Why?", "why", "Bye.", "Me too.", "", "  ", "?!", "Tell me more", "1."]),
)
_options = st.lists(
    st.builds(Option, _option_text, st.sampled_from([*INTENTS, "topic", "", "???"])), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_parse_never_crashes_and_respects_limits(raw: str) -> None:
    result = parse(raw)
    assert len({key(o.text) for o in result}) == len(result)
    for option in result:
        assert key(option.text) and len(option.text.split()) <= MAX_WORDS
        assert option.intent


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(["Why?", '"Bye."', "**Question:** How?", "[share] Same.", "{", "```"]),
        ),
        max_size=6,
    ),
    st.sampled_from(["1. ", "- ", "", "(1) ", "ask: "]),
)
def test_parse_never_crashes_on_list_shaped_text(lines: list[str], marker: str) -> None:
    parse("\n".join(marker + line for line in lines))


@settings(max_examples=300, deadline=None)
@given(_options, _options, st.one_of(st.none(), _option_text))
def test_finalize_always_three_distinct(
    cands: list[Option], fallback: list[Option], last: str | None
) -> None:
    result = finalize(cands, last_player_line=last, fallback=fallback)
    assert len(result) == 3
    keys = [key(o.text) for o in result]
    assert len(set(keys)) == 3 and all(keys)
    if last is not None:
        assert key(last) not in keys
    assert all(len(o.text.split()) <= MAX_WORDS and o.intent for o in result)


def test_finalize_avoids_recently_offered_options_while_others_are_left() -> None:
    cands = [Option("Why?", "ask"), Option("How so?", "ask"), Option("Me too.", "share"), Option("Bye.", "leave")]
    result = finalize(cands, last_player_line=None, fallback=FALLBACK, avoid=["why", "Bye!"])
    assert [o.text for o in result][0] == "How so?"
    assert "Bye." not in [o.text for o in result]
    # Everything offered lately: an old option beats none, and there are still three.
    every = [o.text for o in (*cands, *FALLBACK, *RESERVE)]
    again = finalize(cands, last_player_line=None, fallback=FALLBACK, avoid=every)
    assert len({o.text for o in again}) == 3


def test_finalize_drops_introductions_when_told_to() -> None:
    cands = [Option("Why?", "ask"), Option("I'm Wren, by the way.", "share"), Option("Bye.", "leave")]
    assert finalize(cands, last_player_line=None, fallback=FALLBACK)[1].text == "I'm Wren, by the way."
    result = finalize(cands, last_player_line=None, fallback=FALLBACK, introduce=False)
    assert not any("Wren" in o.text for o in result)
    assert introduces("Call me Wren, please.") and not introduces("I'm new here, still finding my way.")


# --- the parsing vocabulary as data ---------------------------------------------------------------


def test_the_reserve_and_intent_words_come_from_the_data_file_and_are_checked() -> None:
    from sidecar.engine.data import phrase_lists, read_toml
    from sidecar.engine.options import _reserve
    from sidecar.errors import ConfigError

    data = read_toml("option_words.toml")
    assert [o.intent for o in RESERVE] == ["ask", "share", "leave"] * 3
    assert _reserve(data) == RESERVE
    assert normalize_intent("Follow_Up") == "ask" and "follow up" in phrase_lists(data, "f", "intents", INTENTS)["ask"]
    twice = {"reserve": {"ask": ["A?", "B?", "C?"], "share": ["D.", "E.", "F."], "leave": ["Bye.", "G.", "a?"]}}
    with pytest.raises(ConfigError, match="reserve: two lines are the same line"):
        _reserve(twice)
    short = {"reserve": {"ask": ["A?"], "share": ["D.", "E.", "F."], "leave": ["Bye.", "G.", "H."]}}
    with pytest.raises(ConfigError, match=r"reserve.ask: must be a list of at least 3"):
        _reserve(short)
    with pytest.raises(ConfigError, match=r"intents.chat: unknown key"):
        phrase_lists({"intents": {"ask": ["a"], "share": ["s"], "leave": ["l"], "chat": ["c"]}}, "option_words.toml",
                     "intents", INTENTS)


class _Unreadable(list[Option]):
    """A fallback that fails the test if finalize reads it."""

    def __iter__(self) -> Iterator[Option]:
        raise AssertionError("fallback read although the candidates fill every slot")


def test_finalize_does_not_read_the_fallback_when_candidates_fill_every_intent() -> None:
    cands = [
        Option("What are you making at the forge?", "ask"),
        Option("My father worked iron too, long ago.", "share"),
        Option("I should let you get back to work.", "leave"),
    ]
    assert finalize(cands, last_player_line=None, fallback=_Unreadable()) == cands


def test_lazy_options_are_made_once_and_only_when_read() -> None:
    made: list[int] = []
    fallback = [Option("Where did you learn the trade?", "ask")]

    def make() -> list[Option]:
        made.append(1)
        return fallback

    lazy = LazyOptions(make)
    assert made == []
    assert list(lazy) == fallback and len(lazy) == 1 and lazy[0] == fallback[0]
    assert made == [1]
    # One missing intent: the fallback is read (once) to fill it.
    out = finalize([Option("I should let you get back to work.", "leave")], last_player_line=None, fallback=lazy)
    assert out[0] == fallback[0] and made == [1]
