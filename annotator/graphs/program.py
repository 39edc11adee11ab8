"""The whole program seen statically: scopes, names, classes and their C3 order; flow → constraints.

Each file's flow (:mod:`annotator.index.flow`) lists its scopes and statements; here they get
one global id each, names are resolved the way Python does (local, enclosing functions — class
bodies are skipped — module, ``*`` imports, builtins), class bases are read statically (names,
imports, attribute chains: what base lists are written with) and linearised with C3, and every
statement becomes constraints of the :class:`~annotator.graphs.solve.Solver`.
"""

from __future__ import annotations

import builtins
import marshal
from collections.abc import Mapping

from annotator.graphs.classes import ClassFacts
from annotator.graphs.solve import Solver

_BUILTINS = frozenset(dir(builtins))


class Scope:
    """One scope of the program (module, class, function or lambda)."""

    __slots__ = ("fqn", "kind", "parent", "params", "stmts", "method", "generator", "module",
                 "bound", "globals", "line", "path")

    def __init__(self, fqn, kind, parent, params, stmts, method, generator, module, line, path):
        self.fqn, self.kind, self.parent, self.params = fqn, kind, parent, params
        self.stmts, self.method, self.generator, self.module = stmts, method, generator, module
        self.line, self.path = line, path
        self.globals = frozenset(n for s in stmts if s[0] == "g" for n in s[1])
        bound = {name for name, _ in params}
        for s in stmts:
            if s[0] == "=" or s[0] == "F" or (s[0] == "W" and s[1] is not None):
                _names(s[1], bound)
        self.bound = frozenset(bound - self.globals)


def _names(target: tuple, out: set) -> None:
    if target[0] == "N":
        out.add(target[1])
    elif target[0] == "P":
        for t in target[1]:
            _names(t, out)


def _decode(blob: bytes | None) -> tuple:
    flow = marshal.loads(blob) if blob else None
    return flow if isinstance(flow, tuple) and len(flow) == 2 else ((), ())


def _stored(target: tuple, receiver: tuple, out: set) -> None:
    if target[0] == "A" and target[1] == receiver:
        out.add(target[2])
    elif target[0] == "P":
        for t in target[1]:
            _stored(t, receiver, out)


class Program(ClassFacts):
    """Static facts of the tree plus the compiler from flow statements to solver constraints."""

    def __init__(self, modules: Mapping[str, str], flows: Mapping[str, bytes],
                 packages: frozenset[str]) -> None:
        """Scopes of every module; ``flows`` maps each path to its marshalled flow.

        Only what the static questions need stays decoded (module and class statements, the
        decorator sites); function bodies are decoded again, one file at a time, when compiled
        (:meth:`flow_of`), which keeps the peak memory of a vLLM-sized tree under a gigabyte.
        """
        self.scopes: list[Scope] = []
        self.module_scope: dict[str, int] = {}
        self.packages = packages
        self.file_sites: list[tuple[int, tuple, list[int]]] = []  # (file no, sites, scope ids)
        self.members: dict[tuple[int, str], int] = {}  # (class, name) → function scope
        self.stars: dict[str, list[str]] = {}
        self.file_of: dict[str, int] = {}
        self.self_attrs: dict[int, set[str]] = {}
        self.declared: set[tuple[int, str]] = set()
        self.self_declared: set[tuple[int, str]] = set()  # (method, attr): ``self.attr: T``
        self._self_candidates: list[tuple[int, str, tuple]] = []
        self.blobs: list[bytes | None] = []
        self.dec_sites: list[dict[int, tuple]] = []  # per file: decorator site → its argument
        for module, path in sorted(modules.items()):
            blob = flows.get(path)
            self.blobs.append(blob)
            self._add_file(module, path, _decode(blob))
        self._mro: dict[int, list[int]] = {}
        self._ext: dict[int, str | None] = {}
        self._loads: dict[tuple, int | None] = {}
        self.s = Solver(self)

    def _add_file(self, module: str, path: str, flow: tuple) -> None:
        scopes, sites = flow
        ids: list[int] = []
        if not scopes:
            scopes = (("", "module", -1, (), (), "", False, 1),)
        for qual, kind, parent, params, stmts, method, generator, line in scopes:
            gid = len(self.scopes)
            fqn = f"{module}.{qual}" if qual else module
            parent_gid = ids[parent] if parent >= 0 else -1
            self.scopes.append(Scope(fqn, kind, parent_gid, params, stmts, method, generator,
                                     module, line, path))
            ids.append(gid)
            if parent >= 0 and self.scopes[parent_gid].kind == "class" and kind == "function":
                self.members[(parent_gid, qual.rpartition(".")[2])] = gid
        for gid in ids:
            self._note_self_attrs(gid)
        self.module_scope[module] = ids[0]
        self.stars[module] = [self._absolute(module, s[1], s[2]) for s in scopes[0][4] if s[0] == "*"]
        self.file_of[module] = len(self.file_sites)
        self.file_sites.append((len(self.file_sites), (), ids))
        self.dec_sites.append({i: site[3][0] for i, site in enumerate(sites)
                               if site[5] == "dec" and site[3]})
        for gid in ids:
            if self.scopes[gid].kind in ("function", "lambda"):
                self.scopes[gid].stmts = ()  # decoded again when the file is compiled

    def flow_of(self, file_no: int) -> tuple:
        """The decoded flow of one file (scopes, sites), for compiling it."""
        return _decode(self.blobs[file_no])

    def _note_self_attrs(self, gid: int) -> None:
        """Attributes a method stores on its receiver (``self.x = ...``), kept per class."""
        sc = self.scopes[gid]
        if sc.kind != "function" or not sc.params or sc.parent < 0:
            return
        if self.scopes[sc.parent].kind != "class":
            return
        me = ("N", sc.params[0][0])
        found = self.self_attrs.setdefault(sc.parent, set())
        for stmt in sc.stmts:
            if stmt[0] in ("=", "F", "W") and stmt[1] is not None:
                _stored(stmt[1], me, found)
                if stmt[0] == "=" and stmt[1][0] == "A" and stmt[1][1] == me and stmt[2][0] in "TI":
                    self._self_candidates.append((gid, stmt[1][2], stmt[2]))

    def _absolute(self, module: str, target: str, level: int) -> str:
        if not level:
            return target
        base = module if module in self.packages else module.rpartition(".")[0]
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        return f"{base}.{target}" if target and base else (base or target)

    def where(self, scope: int, name: str, depth: int = 0) -> tuple | None:
        """Where a name read in ``scope`` lives: ("v", scope, name), ("e", dotted) or None."""
        s, first = scope, True
        while s >= 0:
            sc = self.scopes[s]
            if name in sc.globals or sc.kind == "module":
                break
            if (sc.kind != "class" or first) and name in sc.bound:
                return ("v", s, name)
            first, s = False, sc.parent
        return self.where_global(self.scopes[scope].module, name, depth)

    def where_global(self, module: str, name: str, depth: int = 0) -> tuple | None:
        """Module-level ``name`` of ``module``: its own binding, a ``*`` import's, a builtin."""
        scope = self.module_scope.get(module)
        if scope is None:
            return ("e", f"{module}.{name}")
        if name in self.scopes[scope].bound:
            return ("v", scope, name)
        if depth < 8 and not name.startswith("_"):
            for star in self.stars.get(module, ()):
                if star not in self.module_scope:
                    return ("e", f"{star}.{name}")
                found = self.where_global(star, name, depth + 1)
                if found is not None and found[0] == "v":
                    return found
        if name in _BUILTINS:
            return ("e", f"builtins.{name}")
        return None

    def _node(self, key: tuple | None) -> int | None:
        if key is None:
            return None
        return self.s.node(key) if key[0] == "v" else self.s.const(key)

    def global_node(self, module: str, name: str, create: bool = False) -> int | None:
        """The node of module-level ``name`` in ``module`` (``create``: a store into it)."""
        if create and module in self.module_scope:
            return self.s.node(("v", self.module_scope[module], name))
        return self._node(self.where_global(module, name))

    def load(self, scope: int, name: str) -> int | None:
        key = (scope, name)
        if key not in self._loads:
            self._loads[key] = self._node(self.where(scope, name))
        return self._loads[key]

    def store(self, scope: int, name: str) -> int:
        sc = self.scopes[scope]
        if name in sc.globals:
            return self.s.node(("v", self.module_scope[sc.module], name))
        return self.s.node(("v", scope, name))

    def import_key(self, scope: int, module: str, level: int, name: str) -> tuple | None:
        """What ``import``/``from … import`` binds: ("m", module), ("e", dotted) or a global."""
        base = self._absolute(self.scopes[scope].module, module, level)
        if not name:
            return ("m", base) if base in self.module_scope else ("e", base)
        sub = f"{base}.{name}"
        if sub in self.module_scope:
            return ("m", sub)
        if base in self.module_scope:
            return self.where_global(base, name)
        return ("e", sub)

    def imported(self, scope: int, module: str, level: int, name: str) -> int | None:
        key = self.import_key(scope, module, level, name)
        if key is not None and key[0] == "m":
            return self.s.const(key)
        return self._node(key)

    # -- classes ------------------------------------------------------------------------------

    def settle_classes(self) -> None:
        """Every class's MRO and outside base, read while the statements are still there."""
        self.settle_declarations()
        for gid, sc in enumerate(self.scopes):
            if sc.kind == "class":
                self.mro(gid)
                self.ext_base(gid)

    def release(self, file_no: int, sites: tuple) -> None:
        """Drop one file's statements and keep only (line, text) of its sites, once compiled."""
        no, _, ids = self.file_sites[file_no]
        for gid in ids:
            self.scopes[gid].stmts = ()
        self.file_sites[file_no] = (no, tuple((site[1], site[6]) for site in sites), ids)
        self.blobs[file_no] = None

    def _gid(self, scope: int, local: int) -> int:
        """Global id of scope ``local`` of the file that ``scope`` belongs to."""
        return self.module_scope[self.scopes[scope].module] + local

    def method_kind(self, func: int) -> str:
        return self.scopes[func].method

    def params(self, func: int) -> tuple:
        return self.scopes[func].params

    def is_generator(self, func: int) -> bool:
        return self.scopes[func].generator

    def enclosing_method(self, scope: int) -> tuple[int, int | None] | None:
        """(class, node of the first parameter) of the method ``scope`` is or is nested in."""
        s = scope
        while s >= 0:
            sc = self.scopes[s]
            parent = self.scopes[sc.parent] if sc.parent >= 0 else None
            if sc.kind == "function" and parent is not None and parent.kind == "class":
                first = sc.params[0][0] if sc.params else None
                return sc.parent, (self.s.node(("v", s, first)) if first else None)
            s = sc.parent
        return None

    def caller(self, scope: int) -> int:
        """The scope a call is reported under: class bodies run in their enclosing scope."""
        while self.scopes[scope].kind == "class":
            scope = self.scopes[scope].parent
        return scope

