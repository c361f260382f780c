"""The emotion and intensity of an NPC line (issue 11 §4: faces to animate)."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.engine.emotion import EMOTIONS, Feeling, accept, derive, load_cues, settle
from sidecar.engine.sentiment import analyze
from sidecar.engine.tone import read
from sidecar.errors import ConfigError
from sidecar.protocol import ops as P


def feel(
    line: str, player: str | None = None, *, affinity: int = 50, arc: str | None = None, voice: str | None = None
) -> Feeling:
    reading = read(player, ("Ansel",)) if player is not None else None
    return derive(line, analyze(line), reading=reading, affinity=affinity, arc=arc, voice=voice)


def test_the_eight_emotions_are_the_protocol_s() -> None:
    assert EMOTIONS == get_args(P.Emotion)
    assert len(EMOTIONS) == 8


def test_neutral_a_plain_line_with_nothing_behind_it() -> None:
    f = feel("Horseshoes, mostly. Some hinges.", "What do you sell here?")
    assert f.emotion == "neutral" and f.intensity <= 0.3


def test_joy_from_the_line_s_own_words() -> None:
    assert feel("Ha! Wonderful, I'm so glad to hear it!").emotion == "joy"


def test_joy_when_praised_by_an_acquaintance_affection_when_praised_by_a_friend() -> None:
    assert feel("Oh, thank you.", "You do beautiful work.", affinity=50).emotion == "joy"
    assert feel("Oh, thank you.", "You do beautiful work.", affinity=85).emotion == "affection"


def test_sadness_answers_grief_even_when_the_line_itself_is_plain() -> None:
    f = feel("My father was a smith too.", "My mother died last week.")
    assert f.emotion == "sadness" and f.intensity >= 0.35


def test_sadness_from_sympathetic_words() -> None:
    assert feel("I'm so sorry for your loss.").emotion == "sadness"


def test_anger_at_an_insult_hurt_from_a_friend_and_the_voice_colours_it() -> None:
    insult = "You are a useless oaf."
    assert feel("Is that so.", insult, affinity=50, voice="outgoing").emotion == "anger"
    assert feel("Is that so.", insult, affinity=85, voice="outgoing").emotion == "sadness"
    assert feel("Oh.", insult, affinity=50, voice="shy").emotion == "sadness"
    assert feel("Charming.", insult, affinity=50, voice="sarcastic").emotion == "disgust"


def test_anger_from_the_line_s_own_words() -> None:
    assert feel("Watch it. Mind your tongue.").emotion == "anger"


def test_fear_of_a_threat() -> None:
    assert feel("Please don't… I don't want trouble.", "Give me the money or I'll break your arm.").emotion == "fear"


def test_fear_shared_when_the_player_is_afraid() -> None:
    assert feel("The woods at night, yes.", "I'm scared of the dark forest.").emotion == "fear"


def test_surprise() -> None:
    assert feel("Really? Goodness, I never knew that.").emotion == "surprise"
    assert feel("You did what?!").emotion == "surprise"


def test_disgust() -> None:
    assert feel("Ugh. That's vile.").emotion == "disgust"


def test_affection_for_a_flirt() -> None:
    assert feel("Oh, stop it.", "You have the prettiest eyes in Thimbleford.").emotion == "affection"


def test_a_heated_arc_makes_anger_stronger_and_a_warm_one_joy() -> None:
    insult = "You are a useless oaf."
    calm = feel("Hm.", insult, arc="stable", voice="outgoing")
    heated = feel("Hm.", insult, arc="conflict", voice="outgoing")
    assert calm.emotion == heated.emotion == "anger"
    assert heated.intensity > calm.intensity
    assert feel("Glad to hear it.", arc="bonding").intensity > feel("Glad to hear it.", arc="stable").intensity


def test_exclamations_raise_the_intensity() -> None:
    assert feel("How wonderful!!").intensity > feel("How wonderful.").intensity


def test_accept_takes_only_the_eight() -> None:
    assert accept(" JOY ") == "joy"
    assert accept("affection") == "affection"
    for bad in ("smug", "", None, 3, "joy!"):
        assert accept(bad) is None


def test_settle_prefers_a_valid_proposal_and_derives_otherwise() -> None:
    line = "Ha! Wonderful, I'm so glad!"
    derived = derive(line, analyze(line))
    assert settle("fear", line, analyze(line)).emotion == "fear"
    assert settle("smug", line, analyze(line)) == derived
    assert settle(None, line, analyze(line)) == derived
    assert settle("neutral", line, analyze(line)).intensity <= 0.3


def test_a_broken_cue_file_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="not an emotion"):
        load_cues('max_hits = 2\nexclamation = 0.4\n[cue.smug]\nweight = 1\nphrases = ["heh"]\n')
    with pytest.raises(ConfigError, match="hostility"):
        load_cues('max_hits = 2\nexclamation = 0.4\n[hostility]\nshy = "meek"\n[cue.joy]\nweight = 1\nphrases = []\n')
    with pytest.raises(ConfigError, match="emotion.toml"):
        load_cues("max_hits = [")


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=80)), st.integers(0, 100))
def test_any_line_gets_one_of_the_eight_within_0_1(line: str, player: str | None, affinity: int) -> None:
    f = feel(line, player, affinity=affinity)
    assert f.emotion in EMOTIONS
    assert 0.0 <= f.intensity <= 1.0


def test_a_threat_frightens_the_shy_and_angers_the_watch_captain() -> None:
    threat = "I will gut you like a fish."
    line = "There's no need for that."
    assert feel(line, threat, voice="shy", arc="deteriorating").emotion == "fear"
    assert feel(line, threat, voice="sarcastic").emotion == "anger"
    assert feel(line, threat, voice="outgoing").emotion == "fear"


def test_the_player_s_line_outweighs_the_npc_s_chatter() -> None:
    chatter = "Ha! Now that's a new one on me! Isn't it grand?"
    assert feel(chatter, "You are a useless oaf.", voice="outgoing").emotion == "anger"
    assert feel(chatter, "My mother died last week.").emotion == "sadness"


def test_i_m_afraid_is_regret_not_fear_but_afraid_of_is_fear() -> None:
    assert feel("I'm afraid that was my last joke.").emotion == "neutral"
    assert feel("I am afraid not, traveller.").emotion == "neutral"
    assert feel("I'm afraid of the dark woods.").emotion == "fear"
    assert feel("I'm so afraid, the wolves are back.").emotion == "fear"
    assert feel("Careful, I might start to enjoy this.").emotion == "neutral"  # the flirty quip
    assert feel("Careful, the ice is thin.").emotion == "fear"
