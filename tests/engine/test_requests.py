"""Requests in an NPC's trade, through the real embedded engine and the sample personas.

Every line below is phrased as a player would type it (not only the trigger words). An
answer is on topic when it holds one of the request's own answer lines (from the persona
file, `{item}` standing for any words) and, where the player named one, the item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.requests import PHRASES
from sidecar.engine.sentiment import analyze
from sidecar.engine.state import ConversationState
from sidecar.engine.text import normalize
from sidecar.engine.types import PLAYER, Line, TurnContext
from sidecar.personas.loader import load_personas
from sidecar.personas.model import Persona

REPO = Path(__file__).resolve().parents[2]
ENGINE = EmbeddedEngine()
SEEDS = (1, 2, 3)
VILLAGE: dict[str, Persona] = {p.id: p for p in load_personas(REPO / "personas")}


def reply(pid: str, line: str, seed: int) -> str:
    persona = VILLAGE[pid]
    ctx = TurnContext(
        persona=persona,
        player="Ana",
        affinity=50,
        seed=seed,
        turn=1,
        neighbours=tuple(p for p in VILLAGE.values() if p.id != pid),
    )
    return ENGINE.reply(ctx, line, analyze(line)).text


def holds(text: str, line: str) -> bool:
    """Whether `text` holds persona line `line`, `{item}` matching any words and `{player}`
    the player's name (case, punctuation and the engine's tucked-in quirks aside)."""
    line = line.replace("{player}", "Ana")
    parts = [normalize(part) for part in re.split(r"\{item\}", line)]
    pattern = r" ?\w+(?: \w+){0,3} ?".join(re.escape(p) for p in parts)
    return re.search(pattern, normalize(text)) is not None


# (persona, what the player says, request id, refused?, the item the answer names or None)
TRADE: list[tuple[str, str, str, bool, str | None]] = [
    ("ansel", "Can you fix my sword? The blade is chipped.", "mend", False, "sword"),
    ("ansel", "My axe has gone blunt, could you sharpen it for me?", "mend", False, "axe"),
    ("ansel", "There's a bent hinge on my door. Any chance you could mend it?", "mend", False, "hinge"),
    ("ansel", "The plough's cracked right down the middle. Can you do anything with it?", "mend", False, "plough"),
    ("ansel", "Is there any way you could repair my old kettle?", "mend", False, "kettle"),
    ("ansel", "Would you make me a new horseshoe?", "forge", False, "horseshoe"),
    ("ansel", "I need some nails for my roof.", "forge", False, "nail"),
    ("ansel", "Could you forge me a dagger?", "forge", True, "dagger"),
    ("ansel", "My horse threw a shoe on the road, can you help?", "shoe", False, "horse"),
    ("ansel", "My pony's limping, I think she needs new shoes.", "shoe", False, "pony"),
    ("ansel", "My cart wheel broke on the bridge.", "mend", False, "wheel"),  # found in play
    ("goldie", "I'd like a room for the night, please.", "room", False, None),
    ("goldie", "Is there a bed free tonight?", "room", False, None),
    ("goldie", "Can I stay here for a few nights?", "room", False, None),
    ("goldie", "I'm starving, what have you got to eat?", "meal", False, None),
    ("goldie", "Could I get a bowl of stew?", "meal", False, "stew"),
    ("goldie", "I'll have the pie, please.", "meal", False, "pie"),
    ("goldie", "A pint of ale, please!", "drink", False, "ale"),
    ("goldie", "Pour me a cider, would you?", "drink", False, "cider"),
    ("goldie", "Do you have any tea?", "drink", False, "tea"),
    ("sorrel", "I've had a terrible headache all day. Can you help?", "remedy", False, "headache"),
    ("sorrel", "Do you have anything for a cough?", "remedy", False, "cough"),
    ("sorrel", "My knee aches when it rains, is there a remedy?", "remedy", False, "knee"),
    ("sorrel", "I burned my hand on the stove, do you have a salve?", "remedy", False, None),
    ("sorrel", "I feel sick.", "remedy", False, None),
    ("sorrel", "I've got a nasty cut on my arm, could you treat it?", "remedy", False, "cut"),
    ("sorrel", "Could you make me a love potion?", "remedy", True, "love potion"),
    ("sorrel", "Can I buy some chamomile?", "herbs", False, "chamomile"),
    ("sorrel", "I'd like some mint tea.", "herbs", False, "mint"),
    ("sorrel", "My stomach hurts after eating at the inn.", "remedy", False, "stomach"),  # found in play
    ("sorrel", "I cut my finger.", "remedy", False, None),  # found in play
    ("rook", "Would you sing me a song?", "song", False, "song"),
    ("rook", "Play something cheerful for us!", "song", False, None),
    ("rook", "Can you play a jig at my wedding?", "song", False, "jig"),
    ("rook", "Do you know any lullabies? My baby won't sleep.", "song", False, "lullaby"),
    ("rook", "I'd love to hear a ballad.", "song", False, "ballad"),
    ("rook", "Serenade me, bard.", "song", False, None),
    ("rook", "Sing the song about the duke's wig!", "song", True, "duke"),
    ("rook", "Could you write a poem for my sweetheart?", "verse", False, "poem"),
    ("rook", "Will you compose a sonnet for me?", "verse", False, "sonnet"),
    ("hesper", "I want to report a theft.", "report", False, None),
    ("hesper", "Someone stole my purse at the market!", "report", False, "purse"),
    ("hesper", "My horse has gone missing.", "report", False, "horse"),
    ("hesper", "I saw a suspicious stranger near the mill.", "report", False, "stranger"),
    ("hesper", "Captain, I've been robbed!", "report", False, None),
    ("hesper", "Thieves broke into my cart last night!", "report", False, "cart"),
    ("hesper", "The goose bit me, I want to make a complaint.", "report", True, "goose"),
    ("hesper", "Could you escort me through the Hollins?", "escort", False, "Hollins"),
    ("hesper", "Can you give me directions to the bridge?", "escort", False, "bridge"),
    ("hesper", "Someone broke into my house last night!", "report", False, "house"),  # found in play
    ("hesper", "I lost my purse.", "report", False, "purse"),
]


def test_every_sample_persona_has_at_least_eight_trade_requests_here() -> None:
    counts = {pid: sum(1 for p, *_ in TRADE if p == pid) for pid in VILLAGE}
    assert set(counts) == {"ansel", "goldie", "sorrel", "rook", "hesper"}
    assert all(n >= 8 for n in counts.values()), counts
    for pid, persona in VILLAGE.items():
        assert persona.requests, f"{pid} declares no requests"
        used = {key for p, _, key, *_ in TRADE if p == pid}
        assert used == set(persona.requests), (pid, used)


@pytest.mark.parametrize(("pid", "line", "key", "refused", "item"), TRADE, ids=[t[1][:40] for t in TRADE])
def test_a_request_in_the_trade_is_answered_on_topic(
    pid: str, line: str, key: str, refused: bool, item: str | None
) -> None:
    request = VILLAGE[pid].requests[key]
    pool = request.refusals if refused else request.answers
    for seed in SEEDS:
        text = reply(pid, line, seed)
        assert any(holds(text, answer) for answer in pool), (pid, line, text)
        if item is not None:
            assert item.lower() in text.lower(), (pid, line, text)


def test_the_sword_to_the_blacksmith_is_about_the_sword_not_an_anecdote() -> None:
    danger = VILLAGE["ansel"].topics["danger"].lines  # "sword" is also a keyword of this topic
    for seed in range(12):
        text = reply("ansel", "Can you fix my sword? The blade is chipped.", seed)
        assert "your sword" in text.lower() or "sword" in text.lower() or "fix that" in text.lower(), text
        assert not any(holds(text, anecdote) for anecdote in danger), text


def test_repeated_requests_rotate_their_answers() -> None:
    """Asked again and again, the NPC answers the request each time, in different words."""
    pid, line = "goldie", "Could I get a bowl of stew?"
    state = ConversationState()
    persona = VILLAGE[pid]
    seen = []
    for turn in range(1, 5):
        ctx = TurnContext(persona=persona, player="Ana", affinity=50, seed=4, turn=turn, state=state)
        composed = ENGINE.reply(ctx, line, analyze(line))
        state = ConversationState.from_json(replace(state, engine=composed.memory).to_json())
        seen.append(composed.text)
        assert any(holds(composed.text, a) for a in persona.requests["meal"].answers), composed.text
    assert len({normalize(t) for t in seen}) == len(seen), seen


# (persona, request for someone else's trade, the villager it belongs to, their request id)
ELSEWHERE: list[tuple[str, str, str, str]] = [
    ("ansel", "Do you have something for my headache?", "sorrel", "remedy"),
    ("ansel", "Can I get a room for the night?", "goldie", "room"),
    ("ansel", "Play me a song!", "rook", "song"),
    ("goldie", "Can you fix my sword? The blade is chipped.", "ansel", "mend"),
    ("goldie", "I want to report a theft.", "hesper", "report"),
    ("sorrel", "Could you shoe my horse?", "ansel", "shoe"),
    ("sorrel", "Sing me a song, please.", "rook", "song"),
    ("rook", "I need a room for the night.", "goldie", "room"),
    ("rook", "Someone stole my lute!", "hesper", "report"),
    ("hesper", "Can you sing me a song?", "rook", "song"),
    ("hesper", "I need a remedy for my cough.", "sorrel", "remedy"),
    ("hesper", "Can you fix my sword?", "ansel", "mend"),
    # found in play: asked where to find someone, and for someone else's goods
    ("goldie", "Where can I find a healer?", "sorrel", "remedy"),
    ("ansel", "Do you know where I can find a healer?", "sorrel", "remedy"),
    ("goldie", "I lost my dog, have you seen him?", "hesper", "report"),
    ("ansel", "Do you sell potions?", "sorrel", "remedy"),
    ("sorrel", "Do you sell horseshoes?", "ansel", "forge"),
]


@pytest.mark.parametrize(("pid", "line", "who", "key"), ELSEWHERE, ids=[f"{e[0]}:{e[1][:30]}" for e in ELSEWHERE])
def test_a_request_outside_the_trade_points_to_the_right_villager(pid: str, line: str, who: str, key: str) -> None:
    other = VILLAGE[who]
    for seed in SEEDS:
        text = reply(pid, line, seed)
        assert other.name in text, (pid, line, text)
        assert normalize(other.requests[key].offer) in normalize(text), (pid, line, text)
        own = [a for r in VILLAGE[pid].requests.values() for a in (*r.answers, *r.refusals)]
        assert not any(holds(text, a) for a in own), (pid, line, text)


@pytest.mark.parametrize(
    ("pid", "line"),
    [(pid, "Can you teach me to fly?") for pid in sorted(VILLAGE)] + [("sorrel", "Can you read this letter for me?")],
)
def test_a_service_nobody_offers_is_not_my_trade(pid: str, line: str) -> None:
    names = [n for p in VILLAGE.values() for n in p.names]
    for seed in SEEDS:
        text = reply(pid, line, seed)
        assert re.search(
            r"not (?:my|me|anyone's|something i do)|can't help|wouldn't know|beyond my trade", text, re.I
        ), text
        assert not any(re.search(rf"\b{re.escape(n)}\b", text) for n in names if n != VILLAGE[pid].name), text


# Lines that share words with a request but ask nothing of the NPC: the topics answer them.
NOT_REQUESTS: list[tuple[str, str]] = [
    ("ansel", "Can you tell me about swords?"),
    ("ansel", "My father had a sword."),
    ("goldie", "Tell me about the rooms."),
    ("goldie", "I had a lovely meal yesterday."),
    ("sorrel", "What do you think about medicine in the city?"),
    ("rook", "Do you like music?"),
    ("hesper", "What do you think of crime in the village?"),
    ("rook", "Can you lend me some money?"),  # his money topic answers (found in play)
    ("hesper", "Can I join the Watch?"),
    ("goldie", "What do you make of Rook?"),  # an opinion, not the smith's "make" (found in play)
    ("sorrel", "What's your opinion of Ansel's hinges?"),
]


@pytest.mark.parametrize(("pid", "line"), NOT_REQUESTS)
def test_a_line_that_asks_nothing_is_not_taken_for_a_request(pid: str, line: str) -> None:
    every = [a for p in VILLAGE.values() for r in p.requests.values() for a in (*r.answers, *r.refusals)]
    for seed in SEEDS:
        text = reply(pid, line, seed)
        assert not any(holds(text, a) for a in every), (pid, line, text)
        assert "not my" not in text.lower(), text


# -- the schema ------------------------------------------------------------------------------


def _persona(requests: dict[str, Any]) -> Persona:
    return Persona.model_validate(
        {
            "id": "bram",
            "name": "Bram",
            "role": "smith",
            "bio": "A smith.",
            "greetings": ["Hi."],
            "farewells": ["Bye."],
            "requests": requests,
        }
    )


def _problems(requests: dict[str, Any]) -> Sequence[str]:
    with pytest.raises(ValidationError) as err:
        _persona(requests)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.value.errors()]


def test_request_schema_accepts_a_full_request_and_lowercases_words() -> None:
    p = _persona(
        {
            "mend": {
                "offer": "mends things",
                "keywords": ["Fix"],
                "items": ["Sword"],
                "answers": ["Your {item}, {player}?", "I can."],
                "refuse": ["Wand"],
                "refusals": ["No {item}s, {name} says."],
            }
        }
    )
    r = p.requests["mend"]
    assert (r.keywords, r.items, r.refuse) == (["fix"], ["sword"], ["wand"])


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        (
            {"mend": {"offer": "x", "keywords": ["fix"], "answers": ["Your {item}?"]}},
            "at least one answer must do without {item}",
        ),
        ({"mend": {"offer": "x", "keywords": ["fix"], "answers": ["Yes, {thing}."]}}, "unknown placeholder {thing}"),
        ({"mend": {"offer": "x", "keywords": ["fix"], "answers": ["Yes {"]}}, "stray brace"),
        (
            {"mend": {"offer": "x", "keywords": ["fix"], "answers": ["Yes."], "refuse": ["wand"]}},
            "`refuse` needs `refusals`",
        ),
        (
            {"mend": {"offer": "x", "keywords": ["fix"], "answers": ["Yes."], "refusals": ["No."]}},
            "`refusals` need `refuse`",
        ),
        ({"mend": {"offer": "x", "keywords": [], "answers": ["Yes."]}}, "at least 1 item"),
        ({"mend": {"offer": "x", "keywords": ["fix"], "answers": ["Yes."], "price": 3}}, "Extra inputs"),
        ({"Bad Key": {"offer": "x", "keywords": ["fix"], "answers": ["Yes."]}}, "pattern"),
    ],
)
def test_request_schema_refuses_what_would_break_an_answer(requests: dict[str, Any], expected: str) -> None:
    problems = _problems(requests)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("requests.") for p in problems), problems


# (persona, a price question, the request it asks about)
PRICES: list[tuple[str, str, str]] = [
    ("goldie", "How much is the stew?", "meal"),
    ("goldie", "How much for a pint of cider?", "drink"),
    ("ansel", "How much do you charge to shoe a horse?", "shoe"),
    ("ansel", "What would a new hinge cost me?", "forge"),
    ("sorrel", "How much for a remedy for my cough?", "remedy"),
    ("sorrel", "What do you charge for dried herbs?", "herbs"),
    ("rook", "How much for a song?", "song"),
    ("rook", "What would a love poem cost?", "verse"),
    ("hesper", "How much does it cost to report a theft?", "report"),
]


@pytest.mark.parametrize(("pid", "line", "key"), PRICES, ids=[f"{p[0]}:{p[1][:30]}" for p in PRICES])
def test_a_price_question_in_the_trade_is_answered_with_the_price(pid: str, line: str, key: str) -> None:
    """"How much is the stew?" got "Stew, coming right up!": the price is asked, not the stew."""
    prices = VILLAGE[pid].requests[key].prices
    answers = VILLAGE[pid].requests[key].answers
    for seed in SEEDS:
        text = reply(pid, line, seed)
        assert any(holds(text, price) for price in prices), (pid, line, text)
        assert not any(holds(text, answer) for answer in answers), (pid, line, text)


def test_how_much_right_after_an_answer_asks_the_price_of_what_was_asked() -> None:
    """"Can you make me a wedding ring?" … "How much would that cost?" got "I'm not sure I know
    about that."."""
    persona = VILLAGE["ansel"]
    asked = "Can you make me a ring?"
    for seed in SEEDS:
        ctx = TurnContext(persona=persona, player="Ana", affinity=50, seed=seed, turn=2,
                          neighbours=tuple(p for p in VILLAGE.values() if p.id != "ansel"))
        first = ENGINE.reply(ctx, asked, analyze(asked))
        after = replace(ctx, turn=3, history=(Line(PLAYER, asked), Line("ansel", first.text)))
        made = ENGINE.reply(after, "How much would that cost?", analyze("How much would that cost?"))
        assert "core:request:price:forge" in made.notes, (made.text, made.notes)
        assert any(holds(made.text, p) for p in persona.requests["forge"].prices), made.text
    # Asked cold, "How much would that cost?" is about nothing the smith was asked for.
    cold = ENGINE.reply(ctx, "How much would that cost?", analyze("How much would that cost?"))
    assert not any(n.startswith("core:request:price") for n in cold.notes), cold.notes


def test_a_request_without_prices_is_priced_in_the_voice_s_general_words() -> None:
    bare = VILLAGE["goldie"].model_copy(deep=True)
    meal = bare.requests["meal"].model_copy(update={"prices": []})
    bare = bare.model_copy(update={"requests": {**bare.requests, "meal": meal}})
    ctx = TurnContext(persona=bare, player="Ana", affinity=50, seed=1, turn=1)
    made = ENGINE.reply(ctx, "How much is the stew?", analyze("How much is the stew?"))
    assert "core:request:price:meal" in made.notes
    assert any(holds(made.text, line) for line in PHRASES.price_unknown["outgoing"]), made.text


def test_a_yes_after_the_price_is_the_request_s_yes() -> None:
    """"I have a terrible headache." … "How much is that?" … "Yes, please." got "I suspect
    you're asking me something non-botanical."."""
    persona = VILLAGE["sorrel"]
    ctx = TurnContext(persona=persona, player="Ana", affinity=50, seed=2, turn=1,
                      neighbours=tuple(p for p in VILLAGE.values() if p.id != "sorrel"))
    history: list[Line] = []
    made = None
    for turn, line in enumerate(["I have a terrible headache.", "How much is that?", "Yes, please."], start=1):
        made = ENGINE.reply(replace(ctx, turn=turn, history=tuple(history)), line, analyze(line))
        history += [Line(PLAYER, line), Line("sorrel", made.text)]
    assert made is not None and "core:request:own:remedy" in made.notes, (made.text, made.notes)
    assert any(holds(made.text, a) for a in persona.requests["remedy"].answers), made.text
    # A yes to nothing priced is no request.
    fresh = ENGINE.reply(ctx, "Yes, please.", analyze("Yes, please."))
    assert not any(n.startswith("core:request") for n in fresh.notes), fresh.notes


@pytest.mark.parametrize("pid", ["sorrel", "ansel"])
def test_a_broken_heart_is_no_errand_for_the_smith(pid: str) -> None:
    """"What's good for a broken heart?" to Sorrel sent the player to Ansel, who mends
    anything broken."""
    for seed in SEEDS:
        text = reply(pid, "What's good for a broken heart?", seed)
        assert VILLAGE["ansel"].requests["mend"].offer not in text, text
        assert not any(holds(text, a) for a in VILLAGE["ansel"].requests["mend"].answers), text
