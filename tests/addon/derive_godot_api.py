"""Derives tests/addon/godot-4.5-api.json.gz, the engine API the addon check uses.

Source: the Godot 4.5 class reference as names and signatures (no descriptions), kept beside
the repository at ../shared/godot-api/godot-4.5-api.json (itself derived from the engine's
doc/classes XML at 4.5). A user's clone has no shared/, so the derived file is committed.

What is kept, per class (engine classes, singletons, built-in types, @GlobalScope and
@GDScript): "inherits", "methods" {name: return type, "X[]" typed arrays written as
"Array"}, "properties" {name: type}, "signals" [names], "constants" [names, enum values
included]. Written sorted and gzip'd with mtime 0, so re-deriving gives identical bytes.

    python tests/addon/derive_godot_api.py [SOURCE_JSON]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "godot-api" / "godot-4.5-api.json"
TARGET = HERE / "godot-4.5-api.json.gz"


def _type(name: str) -> str:
    return "Array" if name.endswith("[]") else name


def derive(source: dict[str, Any]) -> bytes:
    out: dict[str, Any] = {"_version": source.get("_version", "4.5"), "classes": {}}
    for name, cls in source["classes"].items():
        entry: dict[str, Any] = {
            "methods": {m: _type(v.get("return", "void"))
                        for m, v in sorted(cls.get("methods", {}).items())},
            "properties": {p: _type(str(t)) for p, t in sorted(cls.get("properties", {}).items())},
            "signals": sorted(cls.get("signals", {})),
            "constants": sorted(cls.get("constants", {})),
        }
        if "inherits" in cls:
            entry["inherits"] = cls["inherits"]
        out["classes"][name] = entry
    text = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(text, compresslevel=9, mtime=0)


def main() -> int:
    source_path = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    data = derive(json.loads(source_path.read_text(encoding="utf-8")))
    TARGET.write_bytes(data)
    print(f"wrote {TARGET} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
