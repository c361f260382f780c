"""Where the sidecar's files live by default: the data directory, the sample personas and
the checked-in JSON Schemas. Its own module so the command line, `parley chat`/`demo` and
`parley bench` share it without importing one another."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO_ROOT / "engine_bindings" / "schema"


def default_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path("parley", appauthor=False)


def default_personas_dir() -> Path:
    return REPO_ROOT / "personas"


__all__ = ["REPO_ROOT", "SCHEMA_DIR", "default_data_dir", "default_personas_dir"]
