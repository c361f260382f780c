"""Provider presets, read from the shipped `sidecar/data/presets.toml`.

A preset is data: adding a new OpenAI-compatible host is a TOML table, not a class.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

from sidecar.engine.tokens import DEFAULT_CONTEXT_BUDGET

JsonMode = Literal["json_schema", "json_object_schema", "json_object", "prompt"]
JSON_MODES: tuple[JsonMode, ...] = ("json_schema", "json_object_schema", "json_object", "prompt")


@dataclass(frozen=True)
class Preset:
    name: str
    kind: Literal["openai", "anthropic"]
    base_url: str
    model: str
    api_key_env: str | None = None
    needs_key: bool = True
    local: bool = False
    frequency_penalty: bool = True
    json: JsonMode = "prompt"
    stream_usage: bool = True
    max_tokens_field: str = "max_tokens"
    options_in_line: bool = True
    memory_in_line: bool = True
    tools: bool = True
    context_budget: int = DEFAULT_CONTEXT_BUDGET


GENERIC_OPENAI = Preset(name="openai-compatible", kind="openai", base_url="", model="", json="prompt")
GENERIC_ANTHROPIC = Preset(
    name="anthropic-compatible",
    kind="anthropic",
    base_url="https://api.anthropic.com/v1",
    model="",
    frequency_penalty=False,
    json="prompt",
)


@functools.cache
def load_presets() -> dict[str, Preset]:
    """The shipped presets by name. A broken data file is a packaging bug, so it raises
    (KeyError/TypeError/TOMLDecodeError) rather than being reported as user config."""
    raw = tomllib.loads(resources.files("sidecar").joinpath("data/presets.toml").read_text("utf-8"))
    presets: dict[str, Preset] = {}
    for name, table in raw.items():
        if table["json"] not in JSON_MODES:
            raise ValueError(f"presets.toml: [{name}] json = {table['json']!r}")
        presets[name] = Preset(name=name, **cast(dict[str, object], table))  # type: ignore[arg-type]
    return presets


__all__ = ["GENERIC_ANTHROPIC", "GENERIC_OPENAI", "JSON_MODES", "JsonMode", "Preset", "load_presets"]
