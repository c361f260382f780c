"""A static check that the GDScript of godot_addon/ only uses engine APIs that exist in the
targeted Godot version (4.5), from the class reference names in godot-4.5-api.json.gz.

It parses every .gd file with gdtoolkit's parser and follows types the way a reader would:
declared types (`var t: StreamPeerTCP`), inferred ones (`var t := StreamPeerTCP.new()`), the
return types of engine methods (`ProjectSettings.globalize_path(p).path_join(q)` is
String.path_join), singletons (OS, Engine, Time, ...), preloaded scripts (`const Zmtp :=
preload(...)`) and the scripts' own class_names. It reports:

- a method, property, signal or constant looked up on an engine or built-in type that the
  class (with its ancestors) does not have;
- a bare call that is neither the script's own function (or one it inherits), nor a method
  of its engine base class, nor a global function (@GlobalScope, @GDScript), nor a built-in
  type's constructor;
- an ALL_CAPS name that is no constant of the script, its base classes or @GlobalScope;
- a member used on one of our own scripts that the script does not define (so the check
  also keeps the addon's scripts consistent with each other).

Whatever it cannot type (untyped Variants, Dictionary keys read as members, inner-class
instances) it does not judge: the check has no false alarms by design, and misses only
calls on values whose type it cannot know.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gdtoolkit.parser import parser
from lark import Token, Tree

HERE = Path(__file__).resolve().parent
API_FILE = HERE / "godot-4.5-api.json.gz"
CONST_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# GDScript keywords and literals that parse as names.
KEYWORDS = {"self", "super", "null", "true", "false", "PI", "TAU", "INF", "NAN"}

Type = tuple[str, str] | None
"""("inst", Class) an engine or built-in value; ("cls", Class) the class itself;
("script", path) an instance of one of our scripts; ("scls", path) the script itself;
None: unknown."""


@cache
def api() -> dict[str, Any]:
    classes: dict[str, Any] = json.loads(gzip.decompress(API_FILE.read_bytes()))["classes"]
    return classes


def api_version() -> str:
    version: str = json.loads(gzip.decompress(API_FILE.read_bytes()))["_version"]
    return version


def singletons() -> set[str]:
    return set(api()["@GlobalScope"]["properties"])


def ancestry(cls: str) -> list[str]:
    out: list[str] = []
    while cls in api() and cls not in out:
        out.append(cls)
        cls = api()[cls].get("inherits", "")
    return out


def engine_member(cls: str, name: str, called: bool) -> tuple[bool, Type]:
    """(found, type of the member) for `name` on an instance of engine class `cls`."""
    for c in ancestry(cls):
        entry = api()[c]
        if name in entry["methods"]:
            return True, _inst(entry["methods"][name]) if called else ("inst", "Callable")
        if name in entry["properties"]:
            return True, _inst(entry["properties"][name])
        if name in entry["signals"]:
            return True, ("inst", "Signal")
        if name in entry["constants"]:
            return True, ("inst", "int")
    return False, None


def _inst(type_name: str) -> Type:
    if not type_name or type_name in {"void", "Variant"}:
        return None
    if type_name.startswith("Array") or type_name.endswith("[]"):
        return ("inst", "Array")
    if type_name.startswith("Dictionary"):
        return ("inst", "Dictionary")
    return ("inst", type_name) if type_name in api() else None


def _text(node: Any) -> str:
    if isinstance(node, Token):
        return str(node)
    if isinstance(node, Tree):
        return "".join(_text(c) for c in node.children)
    return str(node)


def _line(node: Any) -> int:
    if isinstance(node, Token):
        return node.line or 0
    if isinstance(node, Tree):
        try:
            return int(node.meta.line)
        except AttributeError:
            for child in node.children:
                line = _line(child)
                if line:
                    return line
    return 0


@dataclass
class Script:
    path: Path
    res: str
    class_name: str = ""
    base_engine: str = "RefCounted"
    base_script: str = ""
    funcs: dict[str, str] = field(default_factory=dict)  # name -> return annotation
    vars: dict[str, Any] = field(default_factory=dict)  # name -> declaration node
    consts: dict[str, Any] = field(default_factory=dict)  # name -> value expr
    signals: set[str] = field(default_factory=set)
    inner: set[str] = field(default_factory=set)
    enums: set[str] = field(default_factory=set)
    tree: Any = None


class Checker:
    """Checks a set of scripts of one Godot project (res:// = `project`)."""

    def __init__(self, project: Path, files: list[Path]) -> None:
        self.project = project
        self.scripts: dict[str, Script] = {}
        self.problems: list[str] = []
        for f in files:
            s = self._load(f)
            self.scripts[s.res] = s
        self.class_names = {s.class_name: s.res for s in self.scripts.values() if s.class_name}
        self._var_types: dict[tuple[str, str], Type] = {}

    # --- loading ------------------------------------------------------------------------

    def _load(self, path: Path) -> Script:
        res = "res://" + path.relative_to(self.project).as_posix()
        tree = parser.parse(path.read_text(encoding="utf-8"), gather_metadata=True)
        s = Script(path=path, res=res, tree=tree)
        for stmt in tree.children:
            self._declare(s, stmt)
        return s

    def _declare(self, s: Script, stmt: Any) -> None:
        if not isinstance(stmt, Tree):
            return
        kind = stmt.data
        if kind == "classname_stmt":
            s.class_name = _text(stmt.children[0])
        elif kind == "extends_stmt":
            target = stmt.children[0]
            if isinstance(target, Tree) and target.data == "string":
                s.base_script = _text(target).strip("\"'")
            else:
                s.base_engine = _text(target)
        elif kind == "func_def":
            header = stmt.children[0]
            name = _text(header.children[0])
            ret = ""
            for part in header.children[1:]:
                if isinstance(part, Token) or (isinstance(part, Tree) and part.data != "func_args"):
                    ret = _text(part)
            s.funcs[name] = ret
        elif kind in {"static_func_def", "static_class_var_stmt"}:
            self._declare(s, stmt.children[0])
        elif kind == "class_var_stmt":
            decl = stmt.children[0]
            s.vars[_text(decl.children[0])] = decl
        elif kind == "const_stmt":
            decl = stmt.children[0]
            s.consts[_text(decl.children[0])] = decl
        elif kind == "signal_stmt":
            s.signals.add(_text(stmt.children[0]))
        elif kind == "class_def":
            s.inner.add(_text(stmt.children[0]))
        elif kind == "enum_stmt":
            enum = stmt.children[0]
            if enum.data == "enum_named":
                s.enums.add(_text(enum.children[0]))
            for body in enum.children:
                if isinstance(body, Tree) and body.data == "enum_body":
                    for el in body.children:
                        if isinstance(el, Tree):
                            s.consts[_text(el.children[0])] = None

    # --- types --------------------------------------------------------------------------

    def script_chain(self, res: str) -> list[Script]:
        out: list[Script] = []
        while res in self.scripts and self.scripts[res] not in out:
            out.append(self.scripts[res])
            res = self.scripts[res].base_script
        return out

    def engine_base(self, res: str) -> str:
        chain = self.script_chain(res)
        return chain[-1].base_engine if chain else "RefCounted"

    def annotation(self, text: str, s: Script) -> Type:
        text = text.strip()
        if not text:
            return None
        if text.startswith("Array"):
            return ("inst", "Array")
        if text.startswith("Dictionary"):
            return ("inst", "Dictionary")
        if "." in text:
            head, _, tail = text.partition(".")
            if head in api():
                return ("inst", "int")  # an engine enum, e.g. StreamPeerTCP.Status
            return None  # a script's inner class or enum: not judged
        if text in api():
            return ("inst", text)
        if text in self.class_names:
            return ("script", self.class_names[text])
        for sc in self.script_chain(s.res):
            if text in sc.consts:
                t = self.const_type(sc, text)
                if t is not None and t[0] == "scls":
                    return ("script", t[1])
                return None
            if text == sc.class_name:
                return ("script", sc.res)
        return None

    def const_type(self, s: Script, name: str) -> Type:
        decl = s.consts.get(name)
        if decl is None:
            return ("inst", "int")
        value = decl.children[-1]
        call = value.children[0] if isinstance(value, Tree) and value.data == "expr" else value
        if isinstance(call, Tree) and call.data == "standalone_call":
            fn = _text(call.children[0])
            if fn in {"preload", "load"} and len(call.children) > 1:
                target = _text(call.children[1]).strip("\"'")
                if target.endswith(".gd"):
                    return ("scls", target)
                if target.endswith((".tscn", ".scn")):
                    return ("inst", "PackedScene")
                return ("inst", "Resource")
        if len(decl.children) == 3:  # typed: name, type, value
            return self.annotation(_text(decl.children[1]), s)
        return self.type_of(value, s, {})

    def var_type(self, s: Script, name: str) -> Type:
        key = (s.res, name)
        if key in self._var_types:
            return self._var_types[key]
        self._var_types[key] = None  # recursion guard
        decl = s.vars[name]
        t: Type = None
        if decl.data.endswith("typed") or decl.data.endswith("typed_assgnd"):
            t = self.annotation(_text(decl.children[1]), s)
        elif decl.data.endswith("inf") and len(decl.children) > 1:
            t = self.type_of(decl.children[-1], s, {})
        self._var_types[key] = t
        return t

    def lookup_name(self, name: str, s: Script, scope: dict[str, Type]) -> tuple[bool, Type]:
        """Resolve a bare name. Returns (known, type)."""
        if name in scope:
            return True, scope[name]
        for sc in self.script_chain(s.res):
            if name in sc.vars:
                return True, self.var_type(sc, name)
            if name in sc.consts:
                return True, self.const_type(sc, name)
            if name in sc.signals:
                return True, ("inst", "Signal")
            if name in sc.funcs:
                return True, ("inst", "Callable")
            if name in sc.inner or name in sc.enums:
                return True, None
            if name == sc.class_name:
                return True, ("scls", sc.res)
        found, t = engine_member(self.engine_base(s.res), name, called=False)
        if found:
            return True, t
        if name in singletons():
            return True, ("inst", name)
        if name in self.class_names:
            return True, ("scls", self.class_names[name])
        if name in api():
            return True, ("cls", name)
        if name in api()["@GlobalScope"]["constants"] or name in KEYWORDS:
            return True, None
        return False, None

    def member(self, t: Type, name: str, called: bool, s: Script, node: Any) -> Type:
        if t is None:
            return None
        kind, what = t
        where = f"{s.res}:{_line(node)}"
        if kind == "inst":
            if what in {"Variant", "Object"} and not called:
                return None
            found, mt = engine_member(what, name, called)
            if found:
                return mt
            if what == "Dictionary" and not called:
                return None  # dict.key reads a key
            if what in {"Variant"}:
                return None
            self.problems.append(f"{where}: {what} has no member '{name}' in Godot {api_version()}")
            return None
        if kind == "cls":
            if name == "new":
                return ("inst", what)
            found, mt = engine_member(what, name, called)
            if found:
                return mt
            if name[:1].isupper() and not CONST_NAME.match(name):
                return None  # an enum type, e.g. StreamPeerTCP.Status
            self.problems.append(f"{where}: class {what} has no '{name}' in Godot {api_version()}")
            return None
        # our scripts
        for sc in self.script_chain(what):
            if name in sc.funcs:
                return self.annotation(sc.funcs[name], sc) if called else ("inst", "Callable")
            if name in sc.vars:
                return self.var_type(sc, name)
            if name in sc.consts:
                return self.const_type(sc, name)
            if name in sc.signals:
                return ("inst", "Signal")
            if name in sc.inner or name in sc.enums:
                return None
        if kind == "scls" and name == "new":
            return ("script", what)
        if what not in self.scripts:
            return None
        found, mt = engine_member(self.engine_base(what), name, called)
        if found:
            return mt
        self.problems.append(f"{where}: {what} has no member '{name}'")
        return None

    def type_of(self, node: Any, s: Script, scope: dict[str, Type]) -> Type:
        if isinstance(node, Token):
            if node.type == "NAME":
                return self.lookup_name(str(node), s, scope)[1]
            if node.type == "NUMBER":
                return ("inst", "float") if "." in node or "e" in node.lower() else ("inst", "int")
            return None
        if not isinstance(node, Tree):
            return None
        kind = node.data
        if kind in {"expr", "par_expr"} and node.children:
            return self.type_of(node.children[0], s, scope)
        if kind in {"string", "rstring"}:
            return ("inst", "String")
        if kind == "string_name":
            return ("inst", "StringName")
        if kind == "array":
            return ("inst", "Array")
        if kind in {"dict", "c_dict"}:
            return ("inst", "Dictionary")
        if kind in {"actual_type_cast", "type_cast"}:
            return self.annotation(_text(node.children[-1]), s)
        if kind == "getattr":
            return self._chain(node, None, s, scope)
        if kind == "getattr_call":
            return self._chain(node.children[0], node, s, scope)
        if kind == "standalone_call":
            return self._call(node, s, scope)
        return None

    def _chain(self, getattr: Tree[Any], call: Tree[Any] | None, s: Script, scope: dict[str, Type]) -> Type:
        parts = [c for c in getattr.children if not (isinstance(c, Token) and str(c) == ".")]
        t = self.type_of(parts[0], s, scope)
        for i, name in enumerate(parts[1:], start=1):
            last = i == len(parts) - 1
            t = self.member(t, _text(name), called=last and call is not None, s=s, node=getattr)
        return t

    def _call(self, node: Tree[Any], s: Script, scope: dict[str, Type]) -> Type:
        name = _text(node.children[0])
        where = f"{s.res}:{_line(node)}"
        if name in {"preload", "load"}:
            return ("inst", "Resource")
        if name in scope:
            return None
        for sc in self.script_chain(s.res):
            if name in sc.funcs:
                return self.annotation(sc.funcs[name], sc)
        found, t = engine_member(self.engine_base(s.res), name, called=True)
        if found:
            return t
        for table in ("@GlobalScope", "@GDScript"):
            if name in api()[table]["methods"]:
                return _inst(api()[table]["methods"][name])
        if name in api():
            return ("inst", name)  # a built-in type's constructor, e.g. PackedByteArray()
        self.problems.append(f"{where}: no function '{name}' in the script, its base class "
                             f"or Godot {api_version()}'s globals")
        return None

    # --- walking ------------------------------------------------------------------------

    def check_all(self) -> list[str]:
        for s in self.scripts.values():
            self._check_script(s)
        return self.problems

    def _check_script(self, s: Script) -> None:
        if s.base_script and s.base_script not in self.scripts:
            self.problems.append(f"{s.res}: extends {s.base_script}, which is not in the project")
        if not s.base_script and s.base_engine not in api():
            self.problems.append(f"{s.res}: extends {s.base_engine}, not a Godot class")
        for stmt in s.tree.children:
            self._check_stmt(stmt, s, {})

    def _check_stmt(self, node: Any, s: Script, scope: dict[str, Type]) -> None:
        if not isinstance(node, Tree):
            return
        kind = node.data
        if kind == "class_def":
            return  # inner classes: their own scope; their bodies are not judged here
        if kind in {"func_def", "static_func_def"}:
            fn = node if kind == "func_def" else node.children[0]
            local: dict[str, Type] = {}
            self._args(fn.children[0], s, local)
            for stmt in fn.children[1:]:
                self._check_stmt(stmt, s, local)
            return
        if kind in {"func_var_stmt", "class_var_stmt", "const_stmt", "static_class_var_stmt"}:
            for child in node.children:
                self._check_stmt(child, s, scope)
            return
        if kind.startswith("func_var_") or kind.startswith("class_var_") or kind.startswith(
                "const_"):
            name = _text(node.children[0])
            value = node.children[-1] if len(node.children) > 1 else None
            if value is not None and not (kind.endswith("_typed") or kind == "func_var_empty"):
                self._check_expr(value, s, scope)
            if kind.startswith("func_var_"):
                if "typed" in kind:
                    scope[name] = self.annotation(_text(node.children[1]), s)
                elif value is not None:
                    scope[name] = self.type_of(value, s, scope)
                else:
                    scope[name] = None
            return
        if kind in {"for_stmt", "for_stmt_typed"}:
            var = _text(node.children[0])
            scope[var] = self.annotation(_text(node.children[1]), s) if kind.endswith(
                "typed") else None
            for child in node.children[1:]:
                self._check_stmt(child, s, scope) if not self._is_expr(child) else \
                    self._check_expr(child, s, scope)
            return
        if self._is_expr(node):
            self._check_expr(node, s, scope)
            return
        for child in node.children:
            if self._is_expr(child):
                self._check_expr(child, s, scope)
            else:
                self._check_stmt(child, s, scope)

    def _args(self, header: Tree[Any], s: Script, scope: dict[str, Type]) -> None:
        for part in header.children:
            if not (isinstance(part, Tree) and part.data == "func_args"):
                continue
            for arg in part.children:
                if not isinstance(arg, Tree) or not arg.children:
                    continue
                name = _text(arg.children[0])
                if arg.data == "func_arg_typed":
                    scope[name] = self.annotation(_text(arg.children[1]), s)
                elif arg.data == "func_arg_inf":
                    scope[name] = self.type_of(arg.children[1], s, scope)
                else:
                    scope[name] = None
                for default in arg.children[1:]:
                    if isinstance(default, Tree) and default.data == "expr":
                        self._check_expr(default, s, scope)

    @staticmethod
    def _is_expr(node: Any) -> bool:
        return isinstance(node, Tree) and node.data in {
            "expr", "getattr_call", "getattr", "standalone_call", "assnmnt_expr"}

    def _check_expr(self, node: Any, s: Script, scope: dict[str, Type]) -> None:
        if isinstance(node, Token):
            self._check_name(node, s, scope)
            return
        if not isinstance(node, Tree):
            return
        kind = node.data
        if kind == "lambda":
            local = dict(scope)
            header = node.children[0]
            self._args(header, s, local)
            for stmt in node.children[1:]:
                self._check_stmt(stmt, s, local)
            return
        if kind == "getattr_call":
            self.type_of(node, s, scope)  # records problems along the chain
            self._check_chain_parts(node.children[0], s, scope)
            for arg in node.children[1:]:
                self._check_expr(arg, s, scope)
            return
        if kind == "getattr":
            self.type_of(node, s, scope)
            self._check_chain_parts(node, s, scope)
            return
        if kind == "standalone_call":
            self.type_of(node, s, scope)
            for arg in node.children[1:]:
                self._check_expr(arg, s, scope)
            return
        if kind in {"get_node", "string", "string_name", "rstring", "node_path"}:
            return
        if kind in {"actual_type_cast", "type_test"}:
            self._check_expr(node.children[0], s, scope)
            return
        if kind == "c_dict_element" or kind == "eq_dict_element":
            for child in node.children:
                self._check_expr(child, s, scope)
            return
        for child in node.children:
            self._check_expr(child, s, scope)

    def _check_chain_parts(self, getattr: Tree[Any], s: Script, scope: dict[str, Type]) -> None:
        # Only the chain's base is an expression of its own; the rest are member names.
        base = getattr.children[0]
        if isinstance(base, Tree):
            self._check_expr(base, s, scope)

    def _check_name(self, token: Token, s: Script, scope: dict[str, Type]) -> None:
        if token.type != "NAME" or not CONST_NAME.match(str(token)) or len(str(token)) < 2:
            return
        known, _ = self.lookup_name(str(token), s, scope)
        if not known:
            self.problems.append(f"{s.res}:{token.line}: '{token}' is no constant of the script, "
                                 f"its base classes or Godot {api_version()}'s @GlobalScope")


def check_project(project: Path) -> list[str]:
    files = sorted(p for p in project.rglob("*.gd") if ".godot" not in p.parts)
    return Checker(project, files).check_all()


def used_engine_classes(project: Path) -> set[str]:
    """Engine class names mentioned anywhere in the scripts (for the test's sanity check)."""
    names: set[str] = set()
    for p in project.rglob("*.gd"):
        for word in re.findall(r"\b[A-Z][A-Za-z0-9]+\b", p.read_text(encoding="utf-8")):
            if word in api():
                names.add(word)
    return names
