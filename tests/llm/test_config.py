"""The config file: the fixed contract parses, mistakes name the file and field, keys stay secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backend
import pytest
from llm_support import TEST_KEY

from sidecar.errors import ConfigError
from sidecar.llm.config import config_for_preset, keyring_lookup, load_config, parse_config, resolve
from sidecar.llm.presets import load_presets

CONTRACT = """
[router]
chain = ["main", "backup"]        # tried in order; "embedded" is always the implicit last link
[providers.main]
kind = "openai"                   # "openai" (any OpenAI-compatible server) | "anthropic" | "embedded"
preset = "groq"                   # optional: fills base_url, default model, key variable, prices
base_url = "http://127.0.0.1:8080/v1"
model = "llama-3.1-70b-versatile"
api_key_env = "GROQ_API_KEY"
[providers.backup]
kind = "anthropic"
api_key_env = "ANTHROPIC_API_KEY"
model = "claude-3-5-haiku-20241022"
"""


def test_the_contract_example_parses_and_resolves(tmp_path: Path) -> None:
    path = tmp_path / "llm.toml"
    path.write_text(CONTRACT)
    settings = resolve(load_config(path), env={"GROQ_API_KEY": TEST_KEY}, keys=lambda name: None)
    main, backup = settings.chain
    assert (main.name, main.kind, main.base_url, main.model) == (
        "main",
        "openai",
        "http://127.0.0.1:8080/v1",
        "llama-3.1-70b-versatile",
    )
    assert main.key is not None and main.key.get_secret_value() == TEST_KEY
    assert main.key_source == "env:GROQ_API_KEY" and main.key_problem is None
    assert main.price is not None and main.price.input == 0.59  # from the shipped table
    assert backup.base_url == "https://api.anthropic.com/v1" and backup.frequency_penalty is False
    assert backup.key is None and "ANTHROPIC_API_KEY" in (backup.key_problem or "")
    assert backup.price is not None and backup.price.output == 4.0


def test_a_preset_alone_fills_everything() -> None:
    settings = resolve(config_for_preset("mistral"), env={"MISTRAL_API_KEY": "k" * 20}, keys=lambda n: None)
    [spec] = settings.chain
    assert (spec.base_url, spec.model, spec.json, spec.stream_usage) == (
        "https://api.mistral.ai/v1",
        "mistral-large-latest",
        "json_schema",
        False,
    )
    assert spec.price is not None and (spec.price.input, spec.price.output) == (2.0, 6.0)


def test_local_presets_need_no_key_and_are_free() -> None:
    for name in ("ollama", "llamacpp", "lmstudio"):
        [spec] = resolve(config_for_preset(name), env={}, keys=lambda n: None).chain
        assert spec.key_problem is None and spec.local and not spec.paid
        assert spec.base_url.startswith("http://127.0.0.1:")
        assert not spec.memory_in_line, "a small local model keeps the separate memory call"


def test_hosted_presets_ask_for_memories_with_the_line_and_a_config_can_say_no() -> None:
    for name in ("openai", "anthropic", "groq"):
        [spec] = resolve(config_for_preset(name), env={}, keys=lambda n: None).chain
        assert spec.memory_in_line and spec.options_in_line
    own = parse_config('[router]\nchain = ["main"]\n[providers.main]\npreset = "openai"\nmemory_in_line = false\n')
    [spec] = resolve(own, env={}, keys=lambda n: None).chain
    assert not spec.memory_in_line


def test_every_seed_model_has_a_dated_price() -> None:
    for preset, model in [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-3-5-haiku-20241022"),
        ("groq", "llama-3.1-70b-versatile"),
        ("mistral", "mistral-large-latest"),
        ("together", "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo"),
    ]:
        [spec] = resolve(config_for_preset(preset), env={}, keys=lambda n: None).chain
        assert spec.model == model
        assert spec.price is not None and spec.price.date is not None and spec.price.input > 0


def test_every_preset_is_complete() -> None:
    presets = load_presets()
    assert set(presets) >= {
        "openai",
        "groq",
        "together",
        "mistral",
        "openrouter",
        "ollama",
        "llamacpp",
        "lmstudio",
        "anthropic",
    }
    for preset in presets.values():
        assert preset.base_url.startswith("http") and preset.model
        assert preset.needs_key == (preset.api_key_env is not None)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('[router]\nchain = ["main"]\n', "router.chain", "no [providers.main] table"),
        ('[providers.a]\npreset = "groqq"\n', "providers.a", "unknown preset 'groqq'"),
        ('[providers.a]\nkind = "openai"\nmodel = "m"\n', "providers.a", "needs 'base_url'"),
        ('[providers.a]\nkind = "anthropic"\n', "providers.a", "needs 'model'"),
        ('[providers.a]\nkind = "gemini"\n', "providers.a.kind", "Input should be"),
        ('[providers.a]\npreset = "groq"\nkind = "anthropic"\n', "providers.a", "does not match"),
        (
            '[providers.a]\npreset = "groq"\n[providers.a.limits]\ntimeout = -1\n',
            "providers.a.limits.timeout",
            "greater than 0",
        ),
        ("[limits]\nretriez = 2\n", "limits.retriez", "Extra inputs"),
        (
            '[router]\nchain = ["embedded", "a"]\n[providers.a]\npreset = "groq"\n',
            "router.chain",
            "would never be tried",
        ),
        ('[router]\nchain = ["a", "a"]\n[providers.a]\npreset = "groq"\n', "router.chain", "twice"),
    ],
)
def test_mistakes_name_the_file_and_the_field(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message and words in info.value.message
    assert info.value.details["field"] == field and info.value.details["file"] == str(path)


def test_toml_syntax_errors_say_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[router\nchain = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_config(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")


def test_a_key_written_into_the_file_is_refused_without_being_echoed() -> None:
    text = f'[providers.a]\npreset = "groq"\napi_key = "{TEST_KEY}"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert "not read from the config file" in info.value.message
    assert TEST_KEY not in info.value.message and TEST_KEY not in repr(info.value.details)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in memory (keyring's own plug-in API)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():  # type: ignore[no-untyped-def]
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keys_come_from_the_keyring_when_the_env_var_is_unset(memory_keyring: MemoryKeyring) -> None:
    keyring.set_password("parley", "main", TEST_KEY)
    settings = resolve(parse_config(CONTRACT), env={})
    main = settings.chain[0]
    assert main.key is not None and main.key.get_secret_value() == TEST_KEY and main.key_source == "keyring"
    # the env var wins over the keyring
    settings = resolve(parse_config(CONTRACT), env={"GROQ_API_KEY": "sk-from-env-123456"})
    assert settings.chain[0].key_source == "env:GROQ_API_KEY"


def test_a_broken_keyring_is_the_same_as_no_key() -> None:
    class Failing(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.KeyringError("locked")

    previous = keyring.get_keyring()
    keyring.set_keyring(Failing())
    try:
        assert keyring_lookup("main") is None
    finally:
        keyring.set_keyring(previous)


def test_keys_never_show_in_reprs() -> None:
    settings = resolve(parse_config(CONTRACT), env={"GROQ_API_KEY": TEST_KEY}, keys=lambda n: None)
    assert TEST_KEY not in repr(settings) and TEST_KEY not in str(settings)
    assert TEST_KEY not in repr(settings.chain[0])


def test_importing_the_package_and_routing_to_embedded_does_not_load_the_http_client() -> None:
    code = (
        "import sys, asyncio\n"
        "from sidecar.llm import Router, MemoryLedger, resolve, parse_config, ChatReply, Usage\n"
        "from sidecar.llm.prompt import build_request\n"
        's = resolve(parse_config(\'[router]\\nchain = ["a"]\\n[providers.a]\\npreset = "groq"\\n\'), env={},'
        " keys=lambda n: None)\n"
        "async def compose(req): return ChatReply('hi', 'stop', Usage(), 'embedded')\n"
        "async def main():\n"
        "    async with Router.from_settings(s, MemoryLedger()) as r:\n"
        "        print((await r.complete(__import__('sidecar.llm', fromlist=['x']).ChatRequest('s', ()),"
        " embedded=compose)).provider)\n"
        "asyncio.run(main())\n"
        "print('aiohttp' in sys.modules, 'keyring' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["embedded", "False", "False"]


async def test_resolve_async_gives_the_same_settings() -> None:
    from sidecar.llm.config import resolve_async

    env = {"GROQ_API_KEY": TEST_KEY}
    sync = resolve(parse_config(CONTRACT), env=env, keys=lambda n: None)
    threaded = await resolve_async(parse_config(CONTRACT), env=env, keys=lambda n: None)
    assert threaded == sync


def test_the_quality_table_is_read_and_checked() -> None:
    from sidecar.llm.spec import QualitySettings

    settings = resolve(parse_config("[quality]\nthreshold = 70\nmax_retries = 0\n"), env={}, keys=lambda n: None)
    assert settings.quality == QualitySettings(threshold=70, max_retries=0)
    assert resolve(parse_config(""), env={}, keys=lambda n: None).quality == QualitySettings()
    for bad in ("[quality]\nthreshold = 101\n", "[quality]\nmax_retries = 11\n", "[quality]\nretries = 1\n"):
        with pytest.raises(ConfigError, match=r"quality\."):
            parse_config(bad)


def test_the_memory_table_is_read_and_checked() -> None:
    from sidecar.llm.config import dump_config
    from sidecar.llm.spec import MemorySettings

    text = "[memory]\nrecency = 0.5\nimportance = 2\nrelevance = 3.0\ndecay_per_hour = 0.99\nlimit = 3\n"
    settings = resolve(parse_config(text), env={}, keys=lambda n: None)
    assert settings.memory == MemorySettings(0.5, 2.0, 3.0, 0.99, 3) and settings.chain == ()
    assert resolve(parse_config(""), env={}, keys=lambda n: None).memory == MemorySettings()
    assert parse_config(dump_config(parse_config(text))) == parse_config(text)
    for bad in ("[memory]\nrecency = -1\n", "[memory]\ndecay_per_hour = 0\n", "[memory]\ndecay_per_hour = 1.5\n",
                "[memory]\nlimit = 51\n", "[memory]\nlimit = 2.5\n", "[memory]\nweights = 1\n"):
        with pytest.raises(ConfigError, match=r"memory\."):
            parse_config(bad)


def test_dump_config_round_trips_every_table() -> None:
    from sidecar.llm.config import config_for_preset, dump_config

    text = """
[router]
chain = ["main", "backup", "embedded"]
[limits]
timeout = 2.5
retries = 1
deadline = 12.0
[budgets]
per_day_usd = 1.5
[quality]
threshold = 70
[providers.main]
preset = "groq"
json = "json_object"
keyring = false
frequency_penalty = false
[providers.main.limits]
requests_per_minute = 30.0
[providers.main.price]
input = 0.1
output = 0.2
date = "2025-01-01"
[providers.backup]
kind = "anthropic"
model = "claude \\"quoted\\" \u00e9"
api_key_env = "ANTHROPIC_API_KEY"
"""
    config = parse_config(text)
    assert parse_config(dump_config(config)) == config
    one = config_for_preset("openai", model="gpt-4o-mini")
    assert parse_config(dump_config(one)) == one
