"""Call resolution for the call graph: which definition of the tree a call expression names.

Only what static reading can honestly settle is resolved, from the index's records alone:

* ``f()`` — a function nested in an enclosing function, a module-level def, or a name bound by
  an import (aliases and re-exports followed through ``__init__`` modules, ``*`` imports too);
* ``mod.f()`` / ``pkg.mod.Class.m()`` — attribute chains through modules, submodules, classes;
* ``self.m()`` / ``cls.m()`` — the enclosing class, then its bases in the tree (left-to-right
  depth-first, the order Python's MRO agrees with for the single-inheritance common case);
* ``super().m()`` — the same search, skipping the enclosing class;
* ``self.attr.m()`` — when ``Class.__init__`` (or a base's) assigns ``self.attr = Ctor(...)`` and
  ``Ctor`` is a class of the tree;
* ``Class()`` — ``Class.__init__`` (its own or inherited from a base in the tree), else the class.

Anything else (locals, parameters, return values, subscripts) stays unresolved. Builtins and
names imported from outside the tree are counted apart as *external*.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from annotator.records import FileIndex

if TYPE_CHECKING:
    from annotator.graphs import ModuleTable

# An entity a name can denote: ("mod", module) | ("def", module, qualname, kind) | ("ext", dotted)
Entity = tuple
_DOTTED = re.compile(r"^(?:super\(\)|[A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*$")
_BUILTINS = frozenset(dir(builtins))
_MAX_DEPTH = 12  # re-export chains longer than this are treated as cycles


class Resolver:
    """Name resolution over a whole tree; memoised, so resolving 200k calls stays cheap."""

    def __init__(self, files: Mapping[str, FileIndex], table: ModuleTable) -> None:
        self.table = table
        self.defs: dict[str, dict[str, str]] = {}  # module → qualname → kind
        self.nested: dict[str, set[str]] = {}  # module → names of functions nested in functions
        self.bindings: dict[str, dict[str, tuple]] = {}
        self.stars: dict[str, list[str]] = {}
        self.bases: dict[tuple[str, str], tuple[str, ...]] = {}
        self.attrs: dict[tuple[str, str], dict[str, str]] = {}
        self._memo: dict[tuple, Entity | None] = {}
        self._mro: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._outside: dict[tuple[str, str], str] = {}  # class → a base from outside the tree
        self._outcomes: dict[str, dict[str, str | None]] = {}
        for path, fi in files.items():
            if table.paths.get(fi.module) == path:
                self._add(fi)

    def _add(self, fi: FileIndex) -> None:
        m = fi.module
        self.defs[m] = defs = {s.qualname: s.kind for s in fi.symbols}
        self.nested[m] = {
            q.rpartition(".")[2] for q in defs if defs.get(q.rpartition(".")[0], "class") != "class"
        }
        for cb in fi.bases:
            self.bases[(m, cb.cls)] = cb.bases
        for at in fi.attr_types:
            self.attrs.setdefault((m, at.cls), {}).setdefault(at.attr, at.ctor)
        binds: dict[str, tuple] = {}
        for imp in fi.imports:
            base = self.table.absolute(m, imp)
            if base is None:
                continue
            if not imp.names:
                if imp.asname:
                    binds[imp.asname] = ("mod", base)
                else:
                    head = base.partition(".")[0]
                    binds[head] = ("mod", head)
                continue
            for name, alias in imp.names:
                if name == "*":
                    self.stars.setdefault(m, []).append(base)
                else:
                    binds[alias or name] = ("from", base, name)
        self.bindings[m] = binds

    # -- names --------------------------------------------------------------------------------

    def name(self, module: str, name: str, depth: int = 0) -> Entity | None:
        """What ``name`` denotes at module level of ``module`` (defs first, then imports, ``*``)."""
        key = ("n", module, name)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None  # guards re-export cycles while resolving
        found = self._name(module, name, depth)
        self._memo[key] = found
        return found

    def _name(self, module: str, name: str, depth: int) -> Entity | None:
        if module not in self.defs:
            return ("ext", f"{module}.{name}")
        kind = self.defs[module].get(name)
        if kind is not None:
            return ("def", module, name, kind)
        bound = self.bindings[module].get(name)
        if bound is not None and depth < _MAX_DEPTH:
            return self._binding(bound, depth + 1)
        for star in self.stars.get(module, ()):
            if star in self.defs and not name.startswith("_"):
                hit = self.name(star, name, depth + 1)
                if hit is not None and hit[0] != "ext":
                    return hit
        if name in _BUILTINS:
            return ("ext", f"builtins.{name}")
        return None

    def _binding(self, bound: tuple, depth: int) -> Entity | None:
        if bound[0] == "mod":
            return ("mod", bound[1]) if bound[1] in self.defs else ("ext", bound[1])
        _, base, name = bound
        if f"{base}.{name}" in self.defs:
            return ("mod", f"{base}.{name}")
        if base in self.defs:
            return self.name(base, name, depth)
        return ("ext", f"{base}.{name}")

    def attr(self, entity: Entity, attr: str) -> Entity | None:
        """What ``entity.attr`` denotes: a submodule, a module's name, a class member."""
        tag = entity[0]
        if tag == "ext":
            return ("ext", f"{entity[1]}.{attr}")
        if tag == "mod":
            sub = f"{entity[1]}.{attr}"
            return ("mod", sub) if sub in self.defs else self.name(entity[1], attr)
        if entity[3] == "class":
            return self.member(entity[1], entity[2], attr)
        return None

    # -- classes ------------------------------------------------------------------------------

    def mro(self, module: str, cls: str) -> list[tuple[str, str]]:
        """The class and its bases found in the tree, depth-first left to right, no repeats."""
        key = (module, cls)
        if key not in self._mro:
            self._mro[key] = [key]  # a base cycle (broken code) then stops here
            order = [key]
            for text in self.bases.get(key, ()):
                base = self.expr(module, text.partition("[")[0], scope=cls.rpartition(".")[0])
                if base is not None and base[0] == "def" and base[3] == "class":
                    for item in self.mro(base[1], base[2]):
                        if item not in order:
                            order.append(item)
                elif base is not None and base[0] == "ext":
                    self._outside.setdefault(key, base[1])
            self._mro[key] = order
        return self._mro[key]

    def member(self, module: str, cls: str, attr: str, skip: int = 0) -> Entity | None:
        """``attr`` looked up on a class through its bases (``skip=1`` for ``super()``).

        Not found in the tree but some base comes from outside it (``nn.Module``): the member is
        counted as external — it may well live there, and that is all we can say.
        """
        mro = self.mro(module, cls)
        for m, c in mro[skip:]:
            kind = self.defs[m].get(f"{c}.{attr}")
            if kind is not None:
                return ("def", m, f"{c}.{attr}", kind)
        for item in mro:
            if item in self._outside:
                return ("ext", f"{self._outside[item]}.{attr}")
        return None

    def attr_class(self, module: str, cls: str, attr: str) -> Entity | None:
        """The class of ``self.attr`` when some ``__init__`` in the MRO builds it with a constructor."""
        for m, c in self.mro(module, cls):
            ctor = self.attrs.get((m, c), {}).get(attr)
            if ctor is not None:
                target = self.expr(m, ctor, scope="")
                if target is not None and target[0] == "def" and target[3] == "class":
                    return target
                return None
        return None

    # -- expressions --------------------------------------------------------------------------

    def expr(self, module: str, text: str, scope: str) -> Entity | None:
        """A dotted expression evaluated in ``scope`` (a qualname; "" for module level)."""
        if not _DOTTED.match(text) or module not in self.defs:
            return None
        parts = text.split(".")
        found = self._local(module, parts[0], scope) or self.name(module, parts[0])
        for part in parts[1:]:
            if found is None:
                return None
            found = self.attr(found, part)
        return found

    def _local(self, module: str, name: str, scope: str) -> Entity | None:
        """A def nested in an enclosing function of ``scope`` (class bodies are not scopes)."""
        defs = self.defs[module]
        while scope:
            if defs.get(scope, "class") != "class":
                kind = defs.get(f"{scope}.{name}")
                if kind is not None:
                    return ("def", module, f"{scope}.{name}", kind)
            scope = scope.rpartition(".")[0]
        return None

    def enclosing_class(self, module: str, caller: str) -> str | None:
        """The class whose method (or a function nested in it) ``caller`` is; None elsewhere."""
        defs = self.defs[module]
        parts = caller.split(".")
        for i in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:i])
            if defs.get(prefix) == "class":
                return prefix if defs.get(f"{prefix}.{parts[i]}") in ("method", "function") else None
        return None

    def outcome(self, module: str, caller: str, text: str) -> str | None:
        """A call site's fate: the callee's dotted name, "" when external, None when unresolved.

        Memoised per module and callee text whenever the answer cannot depend on the caller
        (most sites: ``len``, ``torch.cat``, ``helper``), which keeps 200k sites near a second.
        """
        memo = self._outcomes.setdefault(module, {})
        if text in memo:
            return memo[text]
        entity = self.call(module, caller, text)
        if entity is None:
            found = None
        elif entity[0] == "ext":
            found = ""
        else:
            found = self.callee_name(entity)
        head = text.partition(".")[0]
        if head not in ("self", "cls", "super()") and head not in self.nested[module]:
            memo[text] = found
        return found

    def call(self, module: str, caller: str, text: str) -> Entity | None:
        """The entity a call expression's callee denotes, or None when it cannot be told."""
        head, _, rest = text.partition(".")
        if head in ("self", "cls", "super()"):
            return self._method_call(module, caller, head, rest)
        if caller and head in self.nested[module] and self._local(module, head, caller):
            return self.expr(module, text, caller)
        key = ("c", module, text)
        if key not in self._memo:
            self._memo[key] = self.expr(module, text, "")
        return self._memo[key]

    def _method_call(self, module: str, caller: str, head: str, rest: str) -> Entity | None:
        cls = self.enclosing_class(module, caller)
        if cls is None or not rest:
            return None
        key = ("m", module, cls, head, rest)
        if key not in self._memo:
            parts = rest.split(".")
            found = None
            if head == "super()":
                found = self.member(module, cls, parts[0], skip=1) if len(parts) == 1 else None
            elif len(parts) == 1:
                found = self.member(module, cls, parts[0])
            elif len(parts) == 2:
                owner = self.attr_class(module, cls, parts[0])
                found = self.member(owner[1], owner[2], parts[1]) if owner else None
            self._memo[key] = found
        return self._memo[key]

    def callee_name(self, entity: Entity) -> str | None:
        """Dotted name of a resolved callee; a class stands for its ``__init__`` when the tree has one."""
        if entity[0] != "def":
            return None
        if entity in self._memo:
            return self._memo[entity]
        self._memo[entity] = name = self._callee_name(entity)
        return name

    def _callee_name(self, entity: Entity) -> str:
        _, module, qualname, kind = entity
        if kind == "class":
            init = self.member(module, qualname, "__init__")
            if init is not None and init[0] == "def":
                return f"{init[1]}.{init[2]}"
        return f"{module}.{qualname}"
