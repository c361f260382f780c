"""Build the packaged sidecar with PyInstaller into the addon's per-platform folder.

    python build/build_sidecar.py                 # -> godot_addon/addons/parley/bin/<os>-<arch>/
    python build/build_sidecar.py --dist DIR      # -> DIR/<os>-<arch>/ (tests build into a temp dir)
    python build/build_sidecar.py --onefile       # the one-file variant, for measuring only

The result is one folder: `parley-sidecar` (`parley-sidecar.exe` on Windows) next to
`_internal/`. `<os>-<arch>` uses Godot's names (`OS.get_name().to_lower()` and
`Engine.get_architecture_name()`), so the addon finds it: linux-x86_64, windows-x86_64,
macos-arm64, macos-x86_64, linux-arm64, ...

PyInstaller does not cross-compile: this builds for the machine it runs on. What can fail:
PyInstaller is not installed (`pip install -e '.[package]'`), or the build itself fails
(its log says why); the exit code is then non-zero and the old binary, if any, is kept.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build" / "parley-sidecar.spec"
DEFAULT_DIST = ROOT / "godot_addon" / "addons" / "parley" / "bin"
NAME = "parley-sidecar"

_ARCH = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x64": "x86_64",
    "i386": "x86_32",
    "i686": "x86_32",
    "x86": "x86_32",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm32",
    "armv8l": "arm32",
    "riscv64": "rv64",
    "ppc64le": "ppc64",
    "ppc64": "ppc64",
}
_OS = {"linux": "linux", "darwin": "macos", "win32": "windows", "cygwin": "windows"}


def platform_dir() -> str:
    """`<os>-<arch>` as Godot names them (see sidecar_process.gd's platform_dir())."""
    os_name = _OS.get(sys.platform, "freebsd" if sys.platform.startswith("freebsd") else sys.platform)
    machine = platform.machine().lower()
    return f"{os_name}-{_ARCH.get(machine, machine)}"


def executable_name() -> str:
    return NAME + (".exe" if os.name == "nt" else "")


def build(dist: Path, *, onefile: bool = False, work: Path | None = None, quiet: bool = False) -> Path:
    """Run PyInstaller and move the result into `dist/<os>-<arch>/`; returns the executable.

    Raises `subprocess.CalledProcessError` if PyInstaller fails (the target is untouched then).
    """
    target = dist / platform_dir()
    with tempfile.TemporaryDirectory(prefix="parley-pyi-") as tmp:
        workpath = work or Path(tmp) / "work"
        out = Path(tmp) / "dist"
        env = dict(os.environ)
        env["PARLEY_ONEFILE"] = "1" if onefile else "0"
        env["PYTHONHASHSEED"] = "0"  # reproducible bytecode archive ordering
        cmd = [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--distpath",
            str(out),
            "--workpath",
            str(workpath),
            "--log-level",
            "WARN" if quiet else "INFO",
            str(SPEC),
        ]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
        built = out / executable_name() if onefile else out / NAME
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if onefile:
            target.mkdir()
            shutil.move(str(built), str(target / executable_name()))
        else:
            shutil.move(str(built), str(target))
    if dist.resolve() == DEFAULT_DIST.resolve():
        # Keep the Godot editor from scanning and importing ~50 MB of binaries (and from ever
        # packing them into a .pck): the export plugin copies them next to the game instead.
        (dist / ".gdignore").touch()
    exe = target / executable_name()
    if os.name != "nt":
        exe.chmod(0o755)
    return exe


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="parent of the <os>-<arch> folder")
    ap.add_argument("--onefile", action="store_true", help="build the one-file variant (measuring only)")
    ap.add_argument("--work", type=Path, default=None, help="keep PyInstaller's work files here (default: a temp dir)")
    ap.add_argument("--quiet", action="store_true", help="PyInstaller warnings only")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("PyInstaller") is None:
        print("PyInstaller is missing: pip install -e '.[package]'", file=sys.stderr)
        return 2
    try:
        exe = build(args.dist.resolve(), onefile=args.onefile, work=args.work, quiet=args.quiet)
    except subprocess.CalledProcessError as exc:
        print(f"PyInstaller failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in exe.parent.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"built {exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe} ({size / 1e6:.1f} MB on disk)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
