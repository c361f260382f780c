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
import random
import re

from rapidfuzz.distance import Indel

CHARS_PER_TOKEN = 3
"""Characters of English prose that one *estimated* token stands for, at least: the inverse
of `estimate_tokens` used for length budgets (`chars_for_tokens`). Measured on the sample
below, the estimate counts one token per 3.4 characters of prose, so a text cut at
`chars_for_tokens(n)` characters estimates at about 0.9·n tokens and never much above n."""

WORD_CHARS_PER_TOKEN = 4
"""A run of ASCII letters counts one token per 4 letters (rounded up)."""

_PIECE = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]")
"""What the estimate counts, by definition: runs of ASCII letters, single digits, and every
other non-space character on its own (punctuation, symbols, letters outside ASCII).
`estimate_tokens` counts the same without matching them one by one (tests/engine/test_text.py
checks it against these pieces)."""
_ASCII_SPACE = "".join(c for c in map(chr, range(128)) if c.isspace())
_MARKS = bytes(
    ord("a") if chr(b).isascii() and chr(b).isalpha() else ord(" ") if chr(b) in _ASCII_SPACE else ord(".")
    for b in range(256)
)
"""UTF-8 bytes to what the estimate counts them as: an ASCII letter `a`, ASCII whitespace a
space, anything else (digits, punctuation, every byte of a character outside ASCII) `.`."""
_FULL_CHUNK = b"a" * WORD_CHARS_PER_TOKEN
_NON_ASCII_SPACE = re.compile(r"[^\S\x00-\x7f]")

_STRAIGHT = (("\u2019", "'"), ("\u2018", "'"), ("\u02bc", "'"), ("\u201c", '"'), ("\u201d", '"'))
"""The curly apostrophes and quotes, each with its straight form."""
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
"""A word: letters and digits, with inner apostrophes ("don't", "o'clock"); `_` separates."""


def straight(text: str) -> str:
    """Curly apostrophes and quotes made straight; case kept."""
    # An ASCII string has none of them (`isascii` is a flag check). Five `replace` calls run
    # at C speed; `str.translate` with a mapping looked up every character in Python (a
    # 2,000-character summary: 240 µs against 1 µs).
    if text.isascii():
        return text
    for curly, plain in _STRAIGHT:
        text = text.replace(curly, plain)
    return text


def fold(text: str) -> str:
    """Case-folded, with curly apostrophes and quotes made straight: the form regexes over
    player or NPC text are matched against."""
    return straight(text).casefold()


@functools.lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The comparison key of a line: its words, case-folded, joined by single spaces
    (punctuation, case and spacing ignored). Two lines with the same key are the same line."""
    return " ".join(_WORD.findall(fold(text)))


def holds(line: str, phrase: str) -> bool:
    """Whether `phrase` is a run of whole words of `line`, once both are normalized: "the
    NPC's line held that joke, that quote". Empty phrases are held by nothing."""
    key = normalize(phrase)
    return bool(key) and f" {key} " in f" {normalize(line)} "


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
    """Token count of `text` for a provider without an offline tokenizer: an estimate that
    errs high, so a prompt budgeted with it fits the real tokenizer's count.

    Each run of ASCII letters counts ceil(len / 4) tokens, each digit one (Gemma and Llama
    split numbers into digits or short groups), and every other non-space character as many
    tokens as its UTF-8 bytes (punctuation 1, "é" 2, "…" 3). Measured against Gemma 3's own
    tokenizer (llama.cpp, 262k vocabulary) on the 1,114 distinct strings of the shipped
    personas and phrase banks (65,105 characters; `benchmarks/token_estimate.py`): the
    estimate totals 1.25x the real count (median 1.25x per string); 15 strings (1.3%, all
    one or two rare words such as "feverfew") estimate low, by at most one token. The old
    rule (ceil(len / 4)) totalled 0.95x and was low on half of them. A model with a smaller
    vocabulary (32k: Mistral, Llama 2) splits more, so the margin there is smaller;
    tests/engine/test_text.py checks the estimate against the recorded counts."""
    # Counted with C-speed bytes methods, not a loop (nor a regex match) per piece: a prompt
    # holding one "é" or "…" took ~1 ms the old way, on every provider call. Each byte is
    # marked (`_MARKS`); a run of n letters is ceil(n / 4) tokens, which is what is left of it
    # once every 4 letters become one "A" and the 1-3 letters after them one "a"; each "." is
    # one token (a non-ASCII character is as many as its UTF-8 bytes), except the bytes of
    # whitespace outside ASCII (a no-break space), which count nothing.
    marks = text.encode("utf-8", "surrogatepass").translate(_MARKS)
    runs = marks.replace(_FULL_CHUNK, b"A")
    for k in range(WORD_CHARS_PER_TOKEN - 1, 1, -1):
        runs = runs.replace(b"a" * k, b"a")
    n = runs.count(b"A") + runs.count(b"a") + runs.count(b".")
    if not text.isascii():
        n -= len("".join(_NON_ASCII_SPACE.findall(text)).encode("utf-8"))
    return n


def chars_for_tokens(max_tokens: int) -> int:
    """The characters `max_tokens` tokens hold, by the same estimate."""
    return max_tokens * CHARS_PER_TOKEN


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+")


def sentences(text: str) -> list[str]:
    """`text` split after each sentence end (. ! ? …) that a space follows."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


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
    "WORD_CHARS_PER_TOKEN",
    "chars_for_tokens",
    "estimate_tokens",
    "holds",
    "fold",
    "normalize",
    "reseed",
    "sentences",
    "similarity",
    "stable_seed",
    "straight",
    "tokens",
    "words",
]
