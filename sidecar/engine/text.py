"""Text rules every unit shares: one normaliser, one similarity, one token estimate, one seed.

Two lines are "the same line" when their `normalize` keys are equal, wherever that is asked:
the embedded engine's no-repeat window, the quality gate's repeat rules, the answer options'
de-duplication. A unit that compared lines its own way could let through a line another
unit refuses (or retry forever on one it accepts), so none does.

Pure functions, no I/O, no global state besides `lru_cache`s of pure results.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re

from rapidfuzz.distance import Indel

CHARS_PER_TOKEN = 4
"""Rule-of-thumb size of an English token, for every estimate in the sidecar (the quality
gate's length rule, the embedded engine's length budget, usage a provider did not report)."""

_STRAIGHT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
"""A word: letters and digits, with inner apostrophes ("don't", "o'clock"); `_` separates."""


def straight(text: str) -> str:
    """Curly apostrophes and quotes made straight; case kept."""
    # An ASCII string has none of them (`isascii` is a flag check), and `translate` with a
    # mapping costs a dict lookup per character: most lines of a turn take the short way.
    return text if text.isascii() else text.translate(_STRAIGHT)


def fold(text: str) -> str:
    """Case-folded, with curly apostrophes and quotes made straight: the form regexes over
    player or NPC text are matched against."""
    return straight(text).casefold()


@functools.lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The comparison key of a line: its words, case-folded, joined by single spaces
    (punctuation, case and spacing ignored). Two lines with the same key are the same line."""
    return " ".join(_WORD.findall(fold(text)))


def words(text: str) -> list[str]:
    """The words of `text` as `normalize` sees them."""
    return _WORD.findall(fold(text))


def tokens(text: str) -> list[str]:
    """Words for keyword matching: as `words`, with a possessive "'s" dropped ("Sorrel's" is
    "sorrel")."""
    return [w[:-2] if w.endswith("'s") else w for w in _WORD.findall(fold(text))]


def similarity(a: str, b: str, *, at_least: float = 0.0) -> float:
    """How alike two lines are, 0..1: the greater of an edit similarity over words (catches
    small edits: one word changed in a twenty-word line is 0.95) and token-set Jaccard
    (catches reordered words), over `normalize`d text.

    The edit part is rapidfuzz's normalized Indel similarity (2·LCS / total words); it is
    skipped (`score_cutoff`) when it cannot beat Jaccard or reach `at_least`, which is what
    makes the quality gate's near-repeat check cheap on lines that are plainly different."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return 1.0 if na == nb else 0.0
    wa, wb = na.split(), nb.split()
    ta, tb = set(wa), set(wb)
    jaccard = len(ta & tb) / len(ta | tb)
    edit = Indel.normalized_similarity(wa, wb, score_cutoff=max(jaccard, at_least))
    return max(edit, jaccard)


def estimate_tokens(text: str) -> int:
    """Approximate token count of `text` (`CHARS_PER_TOKEN` characters a token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def chars_for_tokens(max_tokens: int) -> int:
    """The characters `max_tokens` tokens hold, by the same estimate."""
    return max_tokens * CHARS_PER_TOKEN


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from `parts` that is the same in every process and on every machine
    (unlike `hash()` of a str, which changes with PYTHONHASHSEED)."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


SEED_STEP = 1_000_003
"""Seed offset per quality-gate retry or options round, so the embedded engine composes
something new for the same turn: `seed + n * SEED_STEP` for the n-th."""


def reseed(*parts: object) -> random.Random:
    """A private generator seeded by `stable_seed(*parts)`: never the global RNG."""
    return random.Random(stable_seed(*parts))


__all__ = [
    "CHARS_PER_TOKEN",
    "SEED_STEP",
    "chars_for_tokens",
    "estimate_tokens",
    "fold",
    "normalize",
    "reseed",
    "similarity",
    "stable_seed",
    "straight",
    "tokens",
    "words",
]
