"""The embedded engine's parts: the persona index finds a keyword's own wording as the
per-keyword regexes it replaced did (they are the oracle here)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.compose.index import determined, index_for, proper_name
from sidecar.personas.loader import load_personas

PERSONAS = Path(__file__).resolve().parents[2] / "personas"


def regex_determined(texts: str, kw: str) -> tuple[str, str] | None:
    m = re.search(r"\b(the|my|our|your)\s+(" + re.escape(kw) + r")\b", texts, re.IGNORECASE)
    return (m.group(1).lower(), m.group(2)) if m else None


def regex_proper(everything: str, name: str) -> str | None:
    m = re.search(r"(?<=[\w,;] )(" + re.escape(name) + r")\b", everything)
    return m.group(1) if m else None


# Letters persona files use, with the separators and look-alikes that matter to the rules.
_CHARS = "theyourmillMTYOaé _-',;.!\n\tç"
_TEXT = st.text(alphabet=_CHARS, max_size=60)
_KW = st.text(alphabet="theyourmilMaé_' -", min_size=1, max_size=8).map(str.strip).filter(bool)


@settings(max_examples=600, deadline=None)
@given(texts=_TEXT, kw=_KW)
def test_determined_matches_the_regex(texts: str, kw: str) -> None:
    assert determined(texts, texts.lower(), kw) == regex_determined(texts, kw)


@settings(max_examples=600, deadline=None)
@given(everything=_TEXT, kw=_KW)
def test_proper_name_matches_the_regex(everything: str, kw: str) -> None:
    name = kw.capitalize()
    assert proper_name(everything, name) == regex_proper(everything, name)


def test_examples() -> None:
    texts = "Welcome to The  Forge. My old mill is quiet; ask Sorrel, or your anvil."
    assert determined(texts, texts.lower(), "forge") == ("the", "Forge")
    assert determined(texts, texts.lower(), "old mill") == ("my", "old mill")
    assert determined(texts, texts.lower(), "anvil") == ("your", "anvil")
    assert determined(texts, texts.lower(), "mil") is None  # whole words only
    assert determined("tyour anvil", "tyour anvil", "anvil") is None  # "our" inside a word
    assert proper_name(texts, "Sorrel") == "Sorrel"
    assert proper_name("Sorrel knows.", "Sorrel") is None  # a sentence start is not a name


def test_the_sample_personas_index_as_the_regexes_did() -> None:
    for persona in load_personas(PERSONAS).personas.values():
        index = index_for(persona)
        texts = " ".join(
            [line for t in persona.topics.values() for line in t.lines]
            + list(persona.facts) + list(persona.opinions.values())
        )
        everything = " ".join([texts, *persona.fallbacks, *persona.greetings, *persona.farewells, persona.bio])
        words = {k.replace("_", " ") for key, t in persona.topics.items() for k in (key, *t.keywords)}
        for kw in words | set(persona.opinions):
            m = regex_determined(texts, kw)
            if m:
                det, said = m
                assert index.phrases[kw.lower()] == (det, said if kw.islower() and said[0].isupper() else said.lower())
            elif (
                kw.islower()
                and (name := regex_proper(everything, kw.capitalize()))
                # i11-player: a word the persona also writes in lowercase is no name
                # ("the Blushing Smith" beside "a smith"), so no option says "behind Smith?".
                and not re.search(rf"\b{re.escape(kw)}\b", everything)
            ):
                assert index.phrases[kw.lower()] == ("", name)
            else:
                assert kw.lower() not in index.phrases
