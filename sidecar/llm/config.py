"""The LLM config file (TOML): its pydantic schema, loading, and key resolution.

This much of the shape is a fixed contract (users and outside tools write it):

    [router]
    chain = ["main", "backup"]     # tried in order; "embedded" is always the implicit last link
    [providers.main]
    kind = "openai"                # "openai" | "anthropic" | "embedded"
    preset = "groq"                # optional: fills base_url, model, key variable, prices
    base_url = "http://127.0.0.1:8080/v1"
    model = "llama-3.1-70b-versatile"
    api_key_env = "GROQ_API_KEY"

Added here: `[limits]` (defaults for every provider and the chain's timing),
`[providers.NAME.limits]`, `[providers.NAME.price]`, `[budgets]`, `[quality]` (the turn
pipeline's quality gate: `threshold`, `max_retries`) and `[memory]` (long-term memory's recall
ranking: `recency`, `importance`, `relevance` weights, `decay_per_hour`, `limit`; a config
with only this table is valid: every line then comes from the embedded engine). API keys are never read
from this file: only from the environment variable `api_key_env` or the OS keyring (service
"parley", username = the provider's config name).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from sidecar.engine.tokens import MIN_CONTEXT_BUDGET
from sidecar.errors import ConfigError
from sidecar.llm.presets import GENERIC_ANTHROPIC, GENERIC_OPENAI, JsonMode, Preset, load_presets
from sidecar.llm.spec import (
    Budgets,
    Limits,
    LlmSettings,
    MemorySettings,
    Price,
    ProviderSpec,
    QualitySettings,
    RouterLimits,
)

log = logging.getLogger(__name__)

KEYRING_SERVICE = "parley"
EMBEDDED = "embedded"
NAME = r"^[A-Za-z][A-Za-z0-9_\-]{0,31}$"

Seconds = Annotated[float, Field(gt=0, le=3600)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderLimitsModel(_Strict):
    timeout: Seconds | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    requests_per_minute: Annotated[float, Field(gt=0)] | None = None
    tokens_per_minute: Annotated[float, Field(gt=0)] | None = None


class LimitsModel(ProviderLimitsModel):
    deadline: Seconds = 30.0
    backoff_base: Annotated[float, Field(ge=0, le=60)] = 0.5
    backoff_max: Annotated[float, Field(ge=0, le=600)] = 8.0
    max_retry_after: Annotated[float, Field(ge=0, le=600)] = 10.0
    max_queue_wait: Annotated[float, Field(ge=0, le=600)] = 2.0
    breaker_failures: Annotated[int, Field(ge=1, le=100)] = 3
    breaker_cooldown: Seconds = 30.0
    breaker_max_cooldown: Seconds = 600.0


class PriceModel(_Strict):
    input: Annotated[float, Field(ge=0)]
    """USD per 1M input tokens."""
    output: Annotated[float, Field(ge=0)]
    date: str | None = None


class ProviderModel(_Strict):
    kind: Literal["openai", "anthropic", "embedded"] | None = None
    preset: str | None = None
    base_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    keyring: bool = True
    """Whether to look in the OS keyring when the environment variable is unset."""
    frequency_penalty: bool | None = None
    json_mode: JsonMode | None = Field(None, alias="json")
    stream_usage: bool | None = None
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None
    options_in_line: bool | None = None
    memory_in_line: bool | None = None
    tools: bool | None = None
    """Native tool calls for NPC actions (default: the preset's); false = structured output."""
    context_budget: Annotated[int, Field(ge=MIN_CONTEXT_BUDGET, le=10_000_000)] | None = None
    tokenizer: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    """Path of a GGUF model file whose vocabulary counts this provider's tokens (needs
    llama-cpp-python; without it, or without the file, token counts are estimated)."""
    local: bool | None = None
    limits: ProviderLimitsModel = ProviderLimitsModel()
    price: PriceModel | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field in ("api_key", "key", "token", "secret"):
                if field in data:
                    raise ValueError(
                        f"'{field}' is not read from the config file: put the key in the "
                        "environment variable named by api_key_env, or in the OS keyring "
                        "(service 'parley', username = this provider's name)"
                    )
        return data

    @model_validator(mode="after")
    def _kind_known(self) -> ProviderModel:
        presets = load_presets()
        if self.preset is not None:
            if self.preset not in presets:
                raise ValueError(f"unknown preset {self.preset!r}; known: {', '.join(sorted(presets))}")
            preset_kind = presets[self.preset].kind
            if self.kind is not None and self.kind != preset_kind:
                raise ValueError(f"kind {self.kind!r} does not match preset {self.preset!r} ({preset_kind})")
        elif self.kind is None:
            raise ValueError("needs 'kind' (openai, anthropic or embedded) or a 'preset'")
        elif self.kind == "openai" and self.base_url is None:
            raise ValueError("kind 'openai' without a preset needs 'base_url'")
        if self.kind != "embedded" and self.preset is None and self.model is None:
            raise ValueError("needs 'model' (or a 'preset' that names one)")
        return self


class RouterModel(_Strict):
    chain: list[Annotated[str, Field(pattern=NAME)]] = Field(default_factory=list, max_length=16)


class BudgetsModel(_Strict):
    per_day_usd: Annotated[float, Field(ge=0)] | None = None
    per_conversation_usd: Annotated[float, Field(ge=0)] | None = None


class QualityModel(_Strict):
    """The turn pipeline's quality gate; unset fields keep the engine's defaults."""

    threshold: Annotated[int, Field(ge=0, le=100)] | None = None
    max_retries: Annotated[int, Field(ge=0, le=10)] | None = None


class MemoryModel(_Strict):
    """Long-term memory's recall ranking; unset fields keep the engine's defaults."""

    recency: Annotated[float, Field(ge=0, le=100)] | None = None
    importance: Annotated[float, Field(ge=0, le=100)] | None = None
    relevance: Annotated[float, Field(ge=0, le=100)] | None = None
    decay_per_hour: Annotated[float, Field(gt=0, le=1)] | None = None
    limit: Annotated[int, Field(ge=0, le=50)] | None = None


class ConfigModel(_Strict):
    router: RouterModel = RouterModel()
    providers: dict[Annotated[str, Field(pattern=NAME)], ProviderModel] = Field(default_factory=dict)
    limits: LimitsModel = LimitsModel()
    budgets: BudgetsModel = BudgetsModel()
    quality: QualityModel = QualityModel()
    memory: MemoryModel = MemoryModel()

    @model_validator(mode="after")
    def _chain_known(self) -> ConfigModel:
        seen: set[str] = set()
        for name in self.router.chain:
            if name in seen:
                raise ValueError(f"router.chain: names {name!r} twice")
            seen.add(name)
            if name != EMBEDDED and name not in self.providers:
                raise ValueError(f"router.chain: names {name!r}, which has no [providers.{name}] table")
        for i, name in enumerate(self.router.chain[:-1]):
            provider = self.providers.get(name)
            if name == EMBEDDED or (provider is not None and provider.kind == "embedded"):
                later = ", ".join(self.router.chain[i + 1 :])
                raise ValueError(f"router.chain: {later} come after the embedded engine and would never be tried")
        return self


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_config(text: str, *, source: str = "<config>") -> ConfigModel:
    """Validate TOML text. Raises `ConfigError` naming the file and the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}", details={"file": source}) from exc
    try:
        return ConfigModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _field_path(first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        if not first["loc"] and (m := re.match(r"^([a-z_.]+): (.*)$", msg, re.S)):
            where, msg = m.group(1), m.group(2)  # a cross-field check names its field itself
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {where}: {msg}{more}", details={"file": source, "field": where}) from None


def load_config(path: str | Path) -> ConfigModel:
    """Read and validate a config file. Raises `ConfigError` (file and field in the message
    and in `details`); never echoes values, so a misplaced key cannot leak through it."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config ({exc.__class__.__name__})", details={"file": str(p)}) from exc
    return parse_config(text, source=str(p))


def config_for_preset(preset: str, *, model: str | None = None) -> ConfigModel:
    """A one-provider chain from a preset name (`parley chat --provider groq`).
    Raises `ConfigError` for an unknown preset."""
    try:
        return ConfigModel.model_validate(
            {"router": {"chain": [preset]}, "providers": {preset: {"preset": preset, "model": model}}}
        )
    except ValidationError as exc:
        raise ConfigError(f"--provider {preset}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dump_config(config: ConfigModel) -> str:
    """TOML text that `parse_config` reads back as an equal `ConfigModel` (used to hand a
    one-off chain, such as `parley chat --provider groq`, to a sidecar). Only the fields set
    are written; no key can be in it, since the model has no field for one."""
    out: list[str] = []

    def table(path: str, data: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        if scalars or not nested:
            out.append(f"[{path}]")
            out.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
            out.append("")
        for k, v in nested.items():
            table(f"{path}.{k}", v)

    data = config.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
    for name, value in data.items():
        if name == "providers":
            for provider, spec in value.items():
                table(f"providers.{provider}", spec)
        elif isinstance(value, dict):
            table(name, value)
    return "\n".join(out)


KeyLookup = Callable[[str], str | None]


def keyring_lookup(username: str) -> str | None:
    """The key stored under service "parley" for this provider name, or None. A missing or
    broken keyring backend (headless CI, no D-Bus) is the same as no key."""
    try:
        import keyring  # slow to import; only needed when an env var is unset
        import keyring.errors

        return keyring.get_password(KEYRING_SERVICE, username)
    except Exception as exc:  # noqa: BLE001 - any backend failure means "no key here"
        log.debug("keyring unavailable", extra={"provider": username, "error": type(exc).__name__})
        return None


def _resolve_provider(
    name: str, model: ProviderModel, defaults: LimitsModel, env: Mapping[str, str], keys: KeyLookup
) -> ProviderSpec:
    presets = load_presets()
    kind = (model.kind or presets[model.preset].kind) if model.preset else model.kind
    assert kind is not None  # guaranteed by ProviderModel._kind_known
    limits = Limits(
        timeout=model.limits.timeout or defaults.timeout or Limits.timeout,
        retries=model.limits.retries
        if model.limits.retries is not None
        else defaults.retries
        if defaults.retries is not None
        else Limits.retries,
        requests_per_minute=model.limits.requests_per_minute or defaults.requests_per_minute,
        tokens_per_minute=model.limits.tokens_per_minute or defaults.tokens_per_minute,
    )
    if kind == "embedded":
        return ProviderSpec(
            name=name,
            kind="embedded",
            model="embedded",
            local=True,
            limits=limits,
            price=Price(0.0, 0.0, source="local"),
        )
    base: Preset = presets[model.preset] if model.preset else GENERIC_OPENAI if kind == "openai" else GENERIC_ANTHROPIC
    model_id = model.model or base.model
    local = model.local if model.local is not None else base.local
    if model.price is not None:
        price: Price | None = Price(model.price.input, model.price.output, model.price.date, source="config")
    elif local:
        price = Price(0.0, 0.0, source="local")
    else:
        from sidecar.llm.costs import lookup_price

        price = lookup_price(model.preset or ("anthropic" if kind == "anthropic" else None), model_id)
    key_env = model.api_key_env or base.api_key_env
    needs_key = base.needs_key if model.preset else not local
    key: SecretStr | None = None
    source: str | None = None
    if key_env and env.get(key_env):
        key, source = SecretStr(env[key_env]), f"env:{key_env}"
    elif model.keyring and (found := keys(name)):
        key, source = SecretStr(found), "keyring"
    problem = None
    if key is None and needs_key:
        where = f"set {key_env} or store" if key_env else "store"
        problem = f"no API key: {where} one in the OS keyring (service 'parley', username '{name}')"
    return ProviderSpec(
        name=name,
        kind=kind,
        model=model_id,
        base_url=(model.base_url or base.base_url).rstrip("/"),
        preset=model.preset,
        key=key,
        key_source=source,
        key_problem=problem,
        local=local,
        frequency_penalty=model.frequency_penalty if model.frequency_penalty is not None else base.frequency_penalty,
        json=model.json_mode or base.json,
        stream_usage=model.stream_usage if model.stream_usage is not None else base.stream_usage,
        max_tokens_field=model.max_tokens_field or base.max_tokens_field,
        options_in_line=model.options_in_line if model.options_in_line is not None else base.options_in_line,
        memory_in_line=model.memory_in_line if model.memory_in_line is not None else base.memory_in_line,
        tools=model.tools if model.tools is not None else base.tools,
        context_budget=model.context_budget or base.context_budget,
        tokenizer=model.tokenizer,
        limits=limits,
        price=price,
    )


def resolve(
    config: ConfigModel,
    *,
    env: Mapping[str, str] | None = None,
    keys: KeyLookup | None = None,
    source: str | None = None,
) -> LlmSettings:
    """Settings the router runs on: presets applied, keys looked up (env first, then the
    keyring), prices attached. A missing key is not an error here: the provider is marked
    with `key_problem` and the router skips it, saying so once."""
    env = os.environ if env is None else env
    keys = keyring_lookup if keys is None else keys
    chain = tuple(
        _resolve_provider(name, config.providers[name], config.limits, env, keys)
        for name in config.router.chain
        if name != EMBEDDED or name in config.providers
    )
    lim = config.limits
    router = RouterLimits(
        deadline=lim.deadline,
        backoff_base=lim.backoff_base,
        backoff_max=lim.backoff_max,
        max_retry_after=lim.max_retry_after,
        max_queue_wait=lim.max_queue_wait,
        breaker_failures=lim.breaker_failures,
        breaker_cooldown=lim.breaker_cooldown,
        breaker_max_cooldown=lim.breaker_max_cooldown,
    )
    budgets = Budgets(config.budgets.per_day_usd, config.budgets.per_conversation_usd)
    quality = QualitySettings(config.quality.threshold, config.quality.max_retries)
    m = config.memory
    memory = MemorySettings(m.recency, m.importance, m.relevance, m.decay_per_hour, m.limit)
    return LlmSettings(chain=chain, router=router, budgets=budgets, quality=quality, memory=memory, source=source)


async def resolve_async(
    config: ConfigModel,
    *,
    env: Mapping[str, str] | None = None,
    keys: KeyLookup | None = None,
    source: str | None = None,
) -> LlmSettings:
    """`resolve` on a worker thread: the first keyring lookup imports and probes the keyring
    backends (about 0.4 s measured on a headless machine), which must not block the loop."""
    import asyncio

    return await asyncio.to_thread(resolve, config, env=env, keys=keys, source=source)


__all__ = [
    "EMBEDDED",
    "KEYRING_SERVICE",
    "ConfigModel",
    "ProviderModel",
    "config_for_preset",
    "dump_config",
    "keyring_lookup",
    "load_config",
    "parse_config",
    "resolve",
    "resolve_async",
]
