"""What a new player noticed talking to the sample NPCs (issue 11 §4, the lead's play-test),
each checked through the real embedded engine with the shipped personas and their neighbours:
greetings by the time of day, a crime report kept by the watch, sympathy that stands alone,
lost pets and illness as sad news, jabs answered as jabs, no tails glued after a reaction or a
request answer, and answer options that read as a person would say them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.personality import tune
from sidecar.engine.phrases import BUNDLED
from sidecar.engine.sentiment import analyze
from sidecar.engine.tone import read
from sidecar.engine.types import Composed, TurnContext
from sidecar.personas.loader import load_personas
from sidecar.personas.model import Persona

SAMPLES = load_personas(Path(__file__).resolve().parents[2] / "personas").personas
ENGINE = EmbeddedEngine()
SEEDS = range(6)


def _ctx(persona: Persona, seed: int, turn: int = 1) -> TurnContext:
    neighbours = tuple(p for p in SAMPLES.values() if p.id != persona.id)
    return TurnContext(persona=persona, player="Mira", affinity=50, seed=seed, turn=turn,
                       neighbours=neighbours)


def _say(pid: str, line: str, seed: int, turn: int = 1) -> Composed:
    persona = SAMPLES[pid]
    return ENGINE.reply(_ctx(persona, seed, turn), line, analyze(line), read(line, persona.names))


def _topic_lines(persona: Persona) -> list[str]:
    return [line for topic in persona.topics.values() for line in topic.lines]


def _voice(pid: str) -> str:
    return tune(SAMPLES[pid], 50).voice


def _questions(pid: str) -> list[str]:
    return [q for q in BUNDLED("questions", _voice(pid)) if "{" not in q]


@pytest.mark.parametrize("pid", sorted(SAMPLES))
@pytest.mark.parametrize("line", [
    "Evening.", "Morning!", "Good day to you.", "G'day.", "Howdy!",
    "Hiya, friend.", "Afternoon, all.", "Mornin'!", "Good evening, {name}.", "Evening, {name}!",
])
def test_a_time_of_day_greeting_is_answered_as_a_greeting(pid: str, line: str) -> None:
    text = line.replace("{name}", SAMPLES[pid].name)
    for seed in SEEDS:
        c = _say(pid, text, seed)
        assert "core:smalltalk" in c.notes, (text, c.text, c.notes)


@pytest.mark.parametrize("line", ["Evening, captain.", "Morning, Captain Vane!", "Good day, captain."])
def test_the_captain_greeted_by_her_title(line: str) -> None:
    for seed in SEEDS:
        c = _say("hesper", line, seed)
        assert "core:smalltalk" in c.notes, (line, c.text, c.notes)


@pytest.mark.parametrize("line", ["Evening falls early here.", "The morning was cold and wet."])
def test_a_time_of_day_in_a_sentence_is_no_greeting(line: str) -> None:
    assert "core:smalltalk" not in _say("goldie", line, 1).notes


@pytest.mark.parametrize("line", [
    "Someone broke into my shed and took my tools.",
    "I lost my ring, I think it was stolen.",
    "My tools were stolen last night.",
    "Somebody robbed me on the bridge and took my knife.",
    "Thieves took my axe and my saddle last night.",
])
def test_a_crime_report_to_the_watch_is_taken_not_referred(line: str) -> None:
    for seed in SEEDS:
        c = _say("hesper", line, seed)
        assert "core:request:own:report" in c.notes, (line, c.text, c.notes)
        assert "Ansel" not in c.text, c.text


@pytest.mark.parametrize(("pid", "line", "to"), [
    ("goldie", "My horse threw a shoe.", "ansel"),
    ("goldie", "My knife is chipped.", "ansel"),
    ("rook", "Someone stole my purse!", "hesper"),
    ("goldie", "Someone stole my purse in your inn!", "hesper"),
    ("sorrel", "Can you fix my sword?", "ansel"),
])
def test_another_villagers_trade_is_still_referred(pid: str, line: str, to: str) -> None:
    c = _say(pid, line, 2)
    assert any(n.startswith(f"core:request:referral:{to}:") for n in c.notes), (c.text, c.notes)


@pytest.mark.parametrize("line", [
    "My brother was killed on the north road last night.",
    "My mother died last week.",
    "My father passed away in the winter.",
    "We buried my sister yesterday.",
])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_sympathy_is_not_followed_by_a_topic_quip(pid: str, line: str) -> None:
    persona = SAMPLES[pid]
    for seed in SEEDS:
        c = _say(pid, line, seed)
        assert "care:sympathy" in c.notes, c.notes
        said = [t for t in _topic_lines(persona) if t in c.text]
        assert said == [], (line, c.text)
        assert not any(q in c.text for q in persona.speech.catchphrase_lines), c.text


@pytest.mark.parametrize("line", [
    "My dog ran away this morning and I can't find him.",
    "I can't find my necklace anywhere.",
    "My cat is sick.",
    "I fell and broke my arm.",
    "My horse went lame on the road.",
    "Our goat ran off in the night.",
    "My wife left me.",  # Rook: "Hm, no rhyme or reason to that one, darling."
    "My girlfriend dumped me last night.",
])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_lost_pet_a_lost_thing_an_illness_or_a_hurt_gets_sympathy(pid: str, line: str) -> None:
    c = _say(pid, line, 3)
    # A hurt or an illness of the player's own is answered with concern, sympathy's lighter
    # key ("That is a heavy thing to carry" was said to a sprained ankle).
    assert "care:sympathy" in c.notes or "care:concern" in c.notes, (line, c.text, c.notes)
    assert not any(f in c.text for f in SAMPLES[pid].fallbacks), c.text


@pytest.mark.parametrize(("line", "kind"), [
    ("I hurt my ankle falling off a fence.", "concern"),
    ("I fell and broke my arm.", "concern"),
    ("I've had a fever for three days.", "concern"),
    ("My grandmother passed away this morning.", "sympathy"),
    ("My house burned down and my father is hurt.", "sympathy"),  # bad news beside the hurt
    ("I'm scared of the dark.", "comfort"),
])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_hurt_gets_concern_and_a_loss_condolences(pid: str, line: str, kind: str) -> None:
    c = _say(pid, line, 3)
    assert f"care:{kind}" in c.notes, (line, c.text, c.notes)
    grief_words = ("condolence", "heavy thing", "grief")
    if kind == "concern":
        assert not any(w in c.text.lower() for w in grief_words), c.text


@pytest.mark.parametrize("line", [
    "You're a useless old fool.", "You are a pathetic excuse for a smith.",
    "Shut up, nobody asked you.",
    "You sing like a dying goose.",  # Rook answered "Want a song? I've got love songs…"
])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_an_insult_is_answered_by_the_reaction_alone(pid: str, line: str) -> None:
    persona = SAMPLES[pid]
    for seed in SEEDS:
        c = _say(pid, line, seed, turn=3)
        assert "tone:rude" in c.notes
        assert not any(f in c.text for f in persona.fallbacks), c.text
        assert not any(q in c.text for q in _questions(pid)), c.text


@pytest.mark.parametrize("line", [
    "Ha! You couldn't catch a cold.", "You call that a hammer?",
    "You couldn't find your way out of the village.", "My grandmother could fight better than you.",
    "You couldn't hit a barn door in the sun.", "You couldn't carry a tune in a bucket.",
])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_jab_is_answered_as_a_jab_not_as_a_topic(pid: str, line: str) -> None:
    persona = SAMPLES[pid]
    for seed in SEEDS:
        c = _say(pid, line, seed)
        assert "tone:rude" in c.notes, (line, c.notes)
        assert not any(t in c.text for t in _topic_lines(persona)), (line, c.text)
        assert c.topic is None


@pytest.mark.parametrize(("pid", "line"), [
    ("ansel", "Can you make me a horseshoe?"),
    ("ansel", "Can you fix my sword? The blade is chipped."),
    ("goldie", "Can I get a room for the night?"),
    ("sorrel", "Do you have something for a headache?"),
    ("rook", "Would you sing me a song?"),
    ("hesper", "I want to report a theft."),
])
def test_a_request_answer_stands_alone(pid: str, line: str) -> None:
    persona = SAMPLES[pid]
    answers = " ".join(a for r in persona.requests.values() for a in (*r.answers, *r.refusals))
    # A quirk the answer lines say themselves ("Um.") is part of the answer, not a tail.
    tails = [*_questions(pid), *persona.speech.catchphrase_lines,
             *(q for q in persona.speech.quirks if re.search(r"[.!?…]$", q) and q not in answers)]
    for seed in range(12):
        c = _say(pid, line, seed, turn=4)
        assert any(n.startswith("core:request:") for n in c.notes), (line, c.notes)
        assert not any(t in c.text for t in tails), (line, c.text)


# --- options --------------------------------------------------------------------------------

_BAD_OPTION = [
    (re.compile(r"\bopinion of (?:your|my)\b", re.IGNORECASE), "an opinion is asked of a person or a thing"),
    (re.compile(r"\b(?:your|my) [A-Z]"), "a person is named by name, not 'your Barnaby'"),
    (re.compile(r"\bI don't know much about\b"), "a share says something about the player"),
    (re.compile(r"\babout the iron\b"), "a material from a compound word is no subject"),
    (re.compile(r"\bopinion of [a-z]+[^s]\?"), "a bare singular noun needs its article"),
]


@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_options_read_as_a_person_would_say_them(pid: str) -> None:
    persona = SAMPLES[pid]
    npc_lines = [*persona.greetings, *(t.lines[0] for t in persona.topics.values()),
                 *persona.opinions.values()]
    checked = 0
    for seed in range(8):
        ctx = _ctx(persona, seed)
        for npc_line in npc_lines:
            for option in ENGINE.options(ctx, npc_line, None):
                checked += 1
                for pattern, why in _BAD_OPTION:
                    assert not pattern.search(option.text), (why, option.text, npc_line)
    assert checked >= 3 * 8 * len(npc_lines)


@pytest.mark.parametrize(("pid", "line"), [
    ("sorrel", "I have a terrible headache, can you help?"),
    ("sorrel", "I've got an awful cough, do you have anything for it?"),
    ("ansel", "I have a horrible notch in my axe, can you fix it?"),
])
def test_a_hard_word_about_the_players_own_trouble_is_no_insult(pid: str, line: str) -> None:
    assert read(line, SAMPLES[pid].names).stance_label != "hostile"
    c = _say(pid, line, 1)
    assert any(n.startswith("core:request:own:") for n in c.notes), (line, c.notes)
    assert "tone:rude" not in c.notes, c.notes


_UNFOLLOWED = ["glorp fnarg wibble", "Can I borrow your left shadow?",
               "Do spoons dream of forks?", "Purple is the loudest number.",
               "My left sock is a philosopher."]


@pytest.mark.parametrize("line", _UNFOLLOWED)
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_line_the_npc_did_not_follow_gets_no_question_back(pid: str, line: str) -> None:
    """"Can't say I follow, petal. … Have you tried it yourself?": there is no "it" to ask
    about when the NPC did not follow the line (found in a play-test of Goldie)."""
    questions = _questions(pid)
    fallbacks = 0
    for seed in range(24):
        c = _say(pid, line, seed, turn=3)
        if "core:fallback" not in c.notes:
            continue
        fallbacks += 1
        assert not any(q in c.text for q in questions), (line, c.text)
    assert fallbacks, f"{line!r} was always understood by {pid}: pick a line it cannot follow"


def _catchphrases_with_topics(pid: str) -> list[tuple[str, frozenset[str]]]:
    return [(c.text, frozenset(c.topics)) for c in SAMPLES[pid].speech.catchphrases if not isinstance(c, str)]


@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_catchphrase_with_topics_ends_only_a_reply_about_them(pid: str) -> None:
    """Goldie's "You didn't hear it from me. You heard it from the walls." after "Thanks,
    you're kind." read as glued on; with `topics` it follows only talk of gossip and the like."""
    persona = SAMPLES[pid]
    lines = ["Thanks, you're kind.", "Hello there!", "How are you?", *_UNFOLLOWED,
             *(kw for t in persona.topics.values() for kw in t.keywords[:2])]
    conditioned = _catchphrases_with_topics(pid)
    assert conditioned, f"{pid} has no catchphrase with topics"
    heard = {text: 0 for text, _ in conditioned}
    for i, line in enumerate(lines):
        for seed in range(48):
            c = _say(pid, f"Tell me about {line}" if i >= 8 else line, seed, turn=4)
            for text, topics in conditioned:
                if text in c.text:
                    heard[text] += 1
                    about = {n.split(":")[2] for n in c.notes if n.startswith(("core:topic:", "core:opinion:"))}
                    assert about & topics, (line, c.text, c.notes)
    assert any(heard.values()), f"no catchphrase of {pid} was ever said: the test proves nothing"


@pytest.mark.parametrize("line", [
    "Tell me a joke.", "Know any good jokes?", "Make me laugh.", "Tell me a funny story, please!",
])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_asked_for_a_joke_each_sample_tells_one_of_its_own(pid: str, line: str) -> None:
    """Asked for a joke, Rook answered "Say that again, slower?" and Goldie told of her work:
    each sample now tells one of its `jokes`, smiling, with nothing glued after the
    punchline, and the bard hears no song request in "a funny story"."""
    persona = SAMPLES[pid]
    assert len(persona.jokes) >= 3
    tails = [*_questions(pid), *persona.speech.catchphrase_lines]
    for seed in SEEDS:
        c = _say(pid, line, seed, turn=3)
        assert "core:joke" in c.notes and c.emotion == "joy", (line, c.text, c.notes)
        assert any(c.text.endswith(joke) for joke in persona.jokes), c.text
        assert not any(t in c.text for t in tails), c.text


@pytest.mark.parametrize("voice", ["shy", "outgoing", "intellectual", "flirty", "sarcastic"])
def test_a_hello_in_the_first_meeting_does_not_say_we_have_met(voice: str) -> None:
    """"Evening, Captain." on a first meeting got "Oh, splendid. Yes, hello. We've met."."""
    for line in BUNDLED("smalltalk", voice, "hello"):
        assert not re.search(r"\b(?:again|we've met|we have met|back)\b", line, re.IGNORECASE), line


def test_a_thing_the_npc_talks_of_is_no_errand_for_a_neighbour() -> None:
    """"Will you teach me the lute?" sent Rook's player to the captain, whose crime reports
    list a stolen lute."""
    for seed in SEEDS:
        c = _say("rook", "Will you teach me the lute?", seed)
        assert not any(n.startswith("core:request:referral") for n in c.notes), (c.text, c.notes)
        assert SAMPLES["hesper"].requests["report"].offer not in c.text, c.text


@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_no_sample_greeting_presupposes_an_earlier_meeting(pid: str) -> None:
    """Goldie opened a first meeting with "Back again, traveller?", the captain with "Ah. You
    again.": a greeting opens any meeting (a returning player is welcomed back separately)."""
    for line in SAMPLES[pid].greetings:
        assert not re.search(r"\b(?:again|back again|last time|you're back|welcome back)\b", line, re.IGNORECASE), line


@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_line_speaks_at_most_one_of_the_npc_s_quirks(pid: str) -> None:
    """"Thrilling. Traveller. Marvellous. Another visitor.": a lead quirk was put before a
    greeting that already says one ("Marvellous." is the captain's own)."""
    persona = SAMPLES[pid]
    # Sentences and actions said on their own ("Marvellous.", "*sighs*"), not tags ("petal").
    quirks = [q.lower() for q in persona.speech.quirks
              if len(q.strip(" .!?…*")) > 3 and (q.startswith("*") or q[-1] in ".!?…") and not q.startswith("…")]
    for seed in range(120):
        texts = [ENGINE.greet(_ctx(persona, seed, turn=0)).text,
                 _say(pid, "Tell me about your work.", seed, turn=4).text]
        for text in texts:
            assert sum(q in text.lower() for q in quirks) <= 1, text


@pytest.mark.parametrize("line", ["I hate the rain.", "I can't stand the cold.", "I hate this village."])
@pytest.mark.parametrize("pid", sorted(SAMPLES))
def test_a_dislike_is_acknowledged_in_grammar_and_without_condolences(pid: str, line: str) -> None:
    """"I hate this village." to the captain got "Ah. That's… I'm sorry. Genuinely." (a dislike
    read as bad news), and "I hate the rain." to Goldie "No the rain for you, then!"."""
    for seed in SEEDS:
        c = _say(pid, line, seed, turn=2)
        assert not any(n.startswith("care:") for n in c.notes), (line, c.text, c.notes)
        assert not re.search(r"\b(?:no|No) (?:the|this|that)\b", c.text), c.text


def test_a_worn_out_thing_in_the_trade_gets_no_condolences() -> None:
    """"Can you fix my axe? The edge is gone." got "I… I don't know what to say. I'm so sorry.
    Oh. Your axe.": "is gone" was grief for anything, an axe's edge too."""
    for seed in SEEDS:
        c = _say("ansel", "Can you fix my axe? The edge is gone.", seed)
        assert not any(n.startswith("care:") for n in c.notes), (c.text, c.notes)
        assert any(n.startswith("core:request:own:mend") for n in c.notes), c.notes
        assert "axe" in c.text.lower(), c.text
    assert "care:sympathy" in _say("ansel", "My husband is gone.", 1).notes
