"""The packaged sidecar: built by PyInstaller from a clean clone, run the way the game runs it.

One build (about a minute on 2 cores) is shared by the tests of this module. The build runs
from a `git clone` of this repository, so it proves that committed files are enough; its
PyInstaller analysis is checked to have taken the sidecar from the clone.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from parley_client import Client, Sidecar
from sidecar import PROTOCOL_VERSION, __version__

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))  # loopback provider fakes
from llm_fakes import FakeProvider  # type: ignore[import-not-found]  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

REPO = Path(__file__).resolve().parents[2]
PERSONAS = REPO / "personas"
BUILD_TIMEOUT_S = 300


def _platform_dir() -> str:
    sys.path.insert(0, str(REPO / "build"))
    try:
        from build_sidecar import platform_dir  # type: ignore[import-not-found]

        return str(platform_dir())
    finally:
        sys.path.remove(str(REPO / "build"))


class Built:
    def __init__(self, src: Path, exe: Path, work: Path) -> None:
        self.src = src
        self.exe = exe
        self.work = work

    @property
    def internal(self) -> Path:
        return self.exe.parent / "_internal"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    if shutil.which("git") is None:
        pytest.fail("git is needed to make a clean clone for the build")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.fail("PyInstaller is missing: pip install -e '.[package]' (make test installs it)")
    root = tmp_path_factory.mktemp("packaging")
    src = root / "src"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(src)], check=True, timeout=120)
    dist = root / "dist"
    work = root / "work"
    proc = subprocess.run(
        [sys.executable, str(src / "build" / "build_sidecar.py"), "--dist", str(dist), "--work", str(work), "--quiet"],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    exe = dist / _platform_dir() / ("parley-sidecar" + (".exe" if os.name == "nt" else ""))
    yield Built(src, exe, work)


def _analysis_path(built: Built, module: str) -> Path:
    """Where PyInstaller's analysis took `module` from (its Analysis TOC is a Python literal)."""
    toc = next(built.work.rglob("Analysis-00.toc")).read_text(encoding="utf-8")
    match = re.search(r"\('" + re.escape(module) + r"',\s*('[^']*')", toc)
    assert match, f"{module} is not in the PyInstaller analysis"
    return Path(ast.literal_eval(match.group(1)))


def test_layout_matches_the_addon_convention_and_holds_the_runtime_data(built: Built) -> None:
    assert built.exe.is_file()
    if os.name != "nt":
        assert built.exe.stat().st_mode & stat.S_IXUSR
    assert built.exe.parent.name == _platform_dir()
    assert _analysis_path(built, "sidecar.cli").resolve().is_relative_to(built.src.resolve()), "built from the clone"
    lexicon = built.internal / "vaderSentiment" / "vader_lexicon.txt"
    assert lexicon.stat().st_size > 100_000
    assert (built.internal / "vaderSentiment" / "emoji_utf8_lexicon.txt").is_file()
    for name in ("presets.toml", "prices.toml", "tone.toml", "emotion.toml"):
        bundled = built.internal / "sidecar" / "data" / name
        assert bundled.read_bytes() == (REPO / "sidecar" / "data" / name).read_bytes()
    schema = json.loads((built.internal / "personas" / "persona.schema.json").read_text(encoding="utf-8"))
    assert schema == json.loads((PERSONAS / "persona.schema.json").read_text(encoding="utf-8"))
    assert sorted(p.name for p in (built.internal / "personas").glob("*.toml")) == sorted(
        p.name for p in PERSONAS.glob("*.toml")
    )
    assert not (built.internal / "pytest").exists() and not (built.internal / "_pytest").exists()


def test_version_matches_the_python_cli(built: Built) -> None:
    out = subprocess.run([str(built.exe), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == f"parley {__version__} (protocol {PROTOCOL_VERSION})"
    py = subprocess.run(
        [sys.executable, "-m", "sidecar", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout == py.stdout


def test_refuses_to_serve_without_a_token(built: Built, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_TOKEN"}
    proc = subprocess.run(
        [str(built.exe), "serve", "--data-dir", str(tmp_path), "--personas", str(PERSONAS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "PARLEY_TOKEN" in proc.stderr
    assert proc.stdout == ""


@pytest.fixture
def game(built: Built, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Sidecar]]:
    """A stand-in for the game (a process that lives until killed) and the binary it started
    as the addon does: token in PARLEY_TOKEN, --parent-pid, ready line read from stdout."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    side = Sidecar(tmp_path / "data", PERSONAS, command=[str(built.exe)], parent_pid=parent.pid)
    try:
        side.start()
        yield parent, side
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        side.kill()


async def test_conversation_over_zeromq_then_parent_death_ends_it(
    game: tuple[subprocess.Popen[bytes], Sidecar], tmp_path: Path
) -> None:
    parent, side = game
    assert side.ready["event"] == "ready"
    assert side.ready["protocol"] == PROTOCOL_VERSION
    assert side.ready["endpoint"].startswith("tcp://127.0.0.1:")
    assert side.proc is not None and side.ready["pid"] == side.proc.pid
    async with Client(side.endpoint, side.token, timeout=30) as c:
        ids = [p["id"] for p in (await c.call("persona.list"))["personas"]]
        assert sorted(ids) == sorted(p.stem for p in PERSONAS.glob("*.toml"))
        start = await c.call("conversation.start", {"persona": ids[0], "player": "mira", "seed": 3})
        conv = start["conversation"]
        assert start["line"]["text"]
        warm = await c.call("conversation.say", {"conversation": conv, "text": "I love this place, thank you!"})
        # VADER scored it: its lexicon files made it into the bundle.
        assert warm["sentiment"] == "positive"
        assert warm["provider"] == "embedded"
        rude = await c.call("conversation.say", {"conversation": conv, "text": "You are awful and I hate you."})
        assert rude["sentiment"] == "negative"
        assert rude["affinity"]["value"] < warm["affinity"]["value"]
        history = await c.call("conversation.history", {"conversation": conv})
        texts = [line["text"] for line in history["lines"]]
        assert texts[:2] == [start["line"]["text"], "I love this place, thank you!"]
        assert len(texts) == 5
    parent.kill()
    parent.wait()
    assert side.wait(timeout=30) == 0
    assert (tmp_path / "data" / "logs" / "sidecar.log").is_file()


@pytest.fixture
def defaults_only(built: Built, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, object]]]:
    """The binary started without --personas."""
    env = dict(os.environ, PARLEY_TOKEN="bundled-defaults")
    proc = subprocess.Popen(
        [str(built.exe), "serve", "--data-dir", str(tmp_path), "--parent-pid", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        yield proc, json.loads(proc.stdout.readline())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def test_default_personas_are_bundled(defaults_only: tuple[subprocess.Popen[bytes], dict[str, object]]) -> None:
    """Without --personas the binary serves the sample villagers it carries."""
    proc, ready = defaults_only
    async with Client(str(ready["endpoint"]), "bundled-defaults", timeout=30) as c:
        ids = sorted(p["id"] for p in (await c.call("persona.list"))["personas"])
    assert ids == sorted(p.stem for p in PERSONAS.glob("*.toml"))
    proc.terminate()
    code = proc.wait(timeout=30)
    assert code == 0 or os.name == "nt"  # Windows: terminate() is TerminateProcess, exit code 1


LLM_KEY = "sk-test-packaged-0123456789"


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider("openai", key=LLM_KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
def with_remote_provider(built: Built, tmp_path: Path, openai_fake: FakeProvider) -> Iterator[Sidecar]:
    """The binary with `--config` naming an OpenAI-compatible provider on loopback, its key in
    the environment variable the config names."""
    config = tmp_path / "llm.toml"
    config.write_text(
        "[router]\n"
        'chain = ["main"]\n'
        "[providers.main]\n"
        'kind = "openai"\n'
        f'base_url = "{openai_fake.base_url}"\n'
        'model = "fake-model"\n'
        'api_key_env = "PARLEY_PACKAGING_TEST_KEY"\n'
        "keyring = false\n",
        encoding="utf-8",
    )
    side = Sidecar(
        tmp_path / "data",
        PERSONAS,
        command=[str(built.exe)],
        extra_args=["--config", str(config)],
        env=dict(os.environ, PARLEY_PACKAGING_TEST_KEY=LLM_KEY),
    )
    try:
        yield side.start()
    finally:
        side.stop()


async def test_remote_provider_works_from_the_bundle(with_remote_provider: Sidecar, openai_fake: FakeProvider) -> None:
    """aiohttp, TLS support (certifi's roots) and the provider presets (package data) are in the
    bundle: a turn goes to the configured provider and its line comes back."""
    side = with_remote_provider
    async with Client(side.endpoint, side.token, timeout=30) as c:
        start = await c.call("conversation.start", {"persona": "ansel", "player": "mira", "seed": 1})
        say = await c.call("conversation.say", {"conversation": start["conversation"], "text": "Hello there!"})
        info = await c.call("server.info")
    assert say["provider"] == "main"
    assert say["line"]["text"] == "Well met, traveller."
    assert openai_fake.received, "the provider was never called"
    assert openai_fake.received[0].headers.get("Authorization") == f"Bearer {LLM_KEY}"
    assert openai_fake.received[0].body["model"] == "fake-model"
    assert [p["name"] for p in info["providers"]] == ["main", "embedded"]


# --- The demo exported by a real Godot editor (GODOT_BIN), run as players would run it ---

GAME_PERSONAS = ("ansel", "sorrel")  # a subset: proves the game reads its own copied folder


def _export_template(godot: str) -> tuple[Path | None, str]:
    """The debug export template to export with: $GODOT_TEMPLATE, else the scons-named
    sibling of the editor (godot.linuxbsd.editor.x86_64 -> ...template_debug.x86_64)."""
    named = os.environ.get("GODOT_TEMPLATE")
    if named:
        return (Path(named), "") if Path(named).is_file() else (None, f"GODOT_TEMPLATE={named} is not a file")
    editor = Path(godot).resolve()
    if ".editor." in editor.name:
        sibling = editor.with_name(editor.name.replace(".editor.", ".template_debug."))
        if sibling.is_file():
            return sibling, ""
    return None, (
        "no Linux debug export template: set GODOT_TEMPLATE to one built from the same Godot "
        "version as GODOT_BIN (no registry ships templates for it)"
    )


def _editor_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a headless editor: its settings and caches in tmp, and the AI chat
    dock of the Godot fork used here off (AI_CHAT_DISABLE=1; otherwise it starts a local
    tool server and calls a remote service; stock Godot ignores the variable)."""
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_TOKEN"}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / "editor-home" / name.lower())
    env["AI_CHAT_DISABLE"] = "1"
    return env


def _export(godot: str, project: Path, preset: str, out: Path) -> str:
    """Imports `project` and exports it headless with `preset` (debug) to `out`; returns the
    export's output (stdout + stderr)."""
    env = _editor_env(out.parent.parent)
    imported = subprocess.run(
        [godot, "--headless", "--path", str(project), "--import"], capture_output=True, text=True, timeout=300, env=env
    )
    assert imported.returncode == 0, imported.stdout[-3000:] + imported.stderr[-3000:]
    out.parent.mkdir(parents=True)
    exported = subprocess.run(
        [godot, "--headless", "--path", str(project), "--export-debug", preset, str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    log = exported.stdout + exported.stderr
    assert exported.returncode == 0, log[-5000:]
    return log


def _export_setup(tmp_path: Path, godot_features: Callable[[str, Path], dict[str, bool]]) -> tuple[str, str, Path, str]:
    """GODOT_BIN (an editor), the Linux preset's name and the template to export with, or a
    visible skip saying which of them is missing."""
    godot = os.environ.get("GODOT_BIN")
    if not godot:
        pytest.skip("GODOT_BIN is not set: the headless export of the demo is not checked")
    if os.name != "posix" or sys.platform == "darwin":
        pytest.skip("the export check runs on Linux (the preset is a Linux one)")
    presets = (REPO / "godot_addon" / "export_presets.cfg").read_text(encoding="utf-8")
    preset = re.search(r'name="([^"]+)"\s*\nplatform="Linux"', presets)
    assert preset is not None, "godot_addon/export_presets.cfg has no Linux preset"
    features = godot_features(godot, tmp_path)
    if not features["editor"]:
        pytest.skip(
            f"GODOT_BIN={godot} is an export template (OS.has_feature('template') is "
            f"{features['template']}), not an editor: only an editor build can export"
        )
    template, why = _export_template(godot)
    if template is None:
        pytest.skip(why)
    assert godot_features(str(template), tmp_path / "t")["template"], f"{template} is not an export template"
    with_template = presets.replace('custom_template/debug=""', f"custom_template/debug={json.dumps(str(template))}")
    return godot, preset.group(1), template, with_template


def test_godot_export_without_the_binary_warns(
    tmp_path: Path, godot_features: Callable[[str, Path], dict[str, bool]]
) -> None:
    """The export plugin's check: no binary for the preset's platform -> a warning naming the
    missing folder and how to build it; the export still completes (a game may bring its own
    sidecar) and carries no parley/ folder."""
    godot, preset, _template, presets = _export_setup(tmp_path, godot_features)
    project_copy = tmp_path / "game"
    shutil.copytree(REPO / "godot_addon", project_copy, ignore=shutil.ignore_patterns(".godot", "export"))
    for folder in (project_copy / "addons" / "parley" / "bin").iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    (project_copy / "export_presets.cfg").write_text(presets, encoding="utf-8")
    out = tmp_path / "export" / "parley-demo.x86_64"
    log = _export(godot, project_copy, preset, out)
    warning = f"WARNING: Parley: No Parley sidecar binary for {_platform_dir()} in res://addons/parley/bin/."
    assert warning in log, log[-3000:]
    assert "make sidecar" in log
    assert out.is_file() and not (out.parent / "parley").exists()


def _gone(pid: int, timeout: float) -> bool:
    """Waits (on a pidfd, no polling) until process `pid` has ended."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def test_godot_export_of_the_demo_carries_the_binary_and_talks_to_it(
    built: Built, tmp_path: Path, godot_features: Callable[[str, Path], dict[str, bool]]
) -> None:
    """Issue 5: a headless export of the demo by a real Godot editor includes the packaged
    sidecar and the game's persona folder, and the exported game, started headless with
    `-- --parley-check` (demo/export_check.gd), starts that binary and gets a reply."""
    godot, preset, _template, presets = _export_setup(tmp_path, godot_features)
    project = REPO / "godot_addon"

    # A copy of the project (the tree stays untouched) set up as a game developer would:
    # the binary from `make sidecar` in addons/parley/bin/, personas in res://personas.
    project_copy = tmp_path / "game"
    shutil.copytree(project, project_copy, ignore=shutil.ignore_patterns(".godot", "bin", "export"))
    shutil.copytree(built.exe.parent, project_copy / "addons" / "parley" / "bin" / _platform_dir(), symlinks=True)
    (project_copy / "personas").mkdir()
    for persona in GAME_PERSONAS:
        shutil.copy(PERSONAS / f"{persona}.toml", project_copy / "personas")
    settings = (project_copy / "project.godot").read_text(encoding="utf-8")
    assert 'sidecar/personas_dir=""' in settings
    (project_copy / "project.godot").write_text(
        settings.replace('sidecar/personas_dir=""', 'sidecar/personas_dir="res://personas"'), encoding="utf-8"
    )
    (project_copy / "export_presets.cfg").write_text(presets, encoding="utf-8")
    out = tmp_path / "export" / "parley-demo.x86_64"
    log = _export(godot, project_copy, preset, out)
    assert "WARNING: Parley:" not in log, log[-3000:]  # no missing-binary / personas warning

    # What the export plugin put next to the game.
    assert out.is_file() and out.with_suffix(".pck").is_file()
    binary = out.parent / "parley" / "bin" / _platform_dir() / "parley-sidecar"
    assert binary.is_file()
    assert binary.stat().st_mode & stat.S_IXUSR
    assert (binary.parent / "_internal").is_dir()
    assert sorted(p.stem for p in (out.parent / "personas").glob("*.toml")) == sorted(GAME_PERSONAS)
    assert not any(out.parent.rglob("*.gd")), "scripts stay in the .pck"

    # The exported game, headless, as a player would start it (from another folder).
    env = {k: v for k, v in os.environ.items() if k not in ("PARLEY_TOKEN", "PARLEY_PYTHON")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")  # its user:// (the sidecar's data) stays in tmp
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    game = subprocess.run(
        [str(out), "--headless", "--", "--parley-check"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    line = next((ln for ln in game.stdout.splitlines() if ln.startswith("PARLEY_CHECK ")), None)
    assert line is not None, game.stdout[-3000:] + game.stderr[-3000:]
    report = json.loads(line.removeprefix("PARLEY_CHECK "))
    assert report["ok"], report
    assert game.returncode == 0, game.stdout[-3000:]
    assert report["template"] and report["exported"], report
    assert Path(report["game_dir"]) == out.parent
    assert report["launch_kind"] == "packaged"
    command = report["launch_command"]
    assert Path(command[0]) == binary
    assert f"Parley: starting the packaged sidecar {binary}" in game.stdout
    # res://personas of the exported game is the folder the plugin copied next to it.
    assert Path(command[command.index("--personas") + 1]) == out.parent / "personas"
    assert Path(command[command.index("--data-dir") + 1]).is_relative_to(tmp_path / "xdg")
    assert sorted(report["personas"]) == sorted(GAME_PERSONAS)
    assert report["persona"] in GAME_PERSONAS and report["reply"]
    # The game quit: its sidecar ended with it.
    assert _gone(int(report["sidecar_pid"]), timeout=30), "the sidecar outlived the exported game"
