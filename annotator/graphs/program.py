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

from annotator.graphs.solve import (ATTR, CALL, ELEM, INST, ITER, SLOT, STORE, STORE_ELEM,
                                    STORE_SLOT, UNK, WITH, Site, Solver)

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


class Program:
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

    def settle_declarations(self) -> None:
        """Attributes whose class the code declares (``x: T`` in a class, ``self.x: T = ...``).

        A declared attribute is read from its declaration only: stores of other values (mocks in
        tests, ``None`` placeholders) would otherwise pile up in the one abstract slot every
        instance shares and make each ``obj.x.m()`` of the tree ambiguous.
        """
        for gid, sc in enumerate(self.scopes):
            if sc.kind == "class":
                for stmt in sc.stmts:
                    if stmt[0] == "=" and stmt[1][0] == "N" and self.declares_class(gid, stmt[2]):
                        self.declared.add((gid, stmt[1][1]))
        for method, attr, value in self._self_candidates:
            if self.declares_class(method, value):
                cls = self.scopes[method].parent
                self.declared.add((cls, attr))
                self.self_declared.add((method, attr))
                self.scopes[cls].bound = self.scopes[cls].bound | {attr}

    def self_declaration(self, scope: int, stmt: tuple) -> bool:
        """Whether ``stmt`` is ``self.x: T`` in a method, with T a class of the tree."""
        if stmt[0] != "=" or stmt[1][0] != "A" or (scope, stmt[1][2]) not in self.self_declared:
            return False
        sc = self.scopes[scope]
        return stmt[1][1] == ("N", sc.params[0][0]) and stmt[2][0] in "TI"

    def declares_class(self, scope: int, value: tuple) -> bool:
        """Whether an annotation value (``T``, ``T | None``) names only classes of the tree."""
        if value[0] == "T":
            found = self.static(scope, value[1])
            return found is not None and found[0] == "c"
        if value[0] == "I":
            parts = [v for v in value[1] if v[0] != "O"]
            return bool(parts) and all(self.declares_class(scope, v) for v in parts)
        return False

    def is_declared(self, cls: int, attr: str) -> bool:
        return any((c, attr) in self.declared for c in self.mro(cls))

    def instance_attr(self, cls: int, attr: str) -> bool:
        """Whether some method of the class or of a base in the tree stores ``self.attr``."""
        return any(attr in self.self_attrs.get(c, ()) for c in self.mro(cls))

    # -- modules and names --------------------------------------------------------------------

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

    def _bases(self, cls: int) -> list:
        """Each base as ("c", scope) or ("e", dotted), read statically from the class statement."""
        stmts = self.scopes[cls].stmts
        exprs = stmts[0][1] if stmts and stmts[0][0] == "B" else ()
        return [b for b in (self.static(self.scopes[cls].parent, e) for e in exprs) if b]

    def static(self, scope: int, expr: tuple, depth: int = 0):
        """What a base-class expression names, without solving (None when it cannot be told)."""
        tag = expr[0]
        if depth > 12:
            return None
        if tag in ("S", "K"):
            return self.static(scope, expr[1], depth + 1)  # Generic[T] is Generic
        if tag == "N":
            return self._static_key(self.where(scope, expr[1]), depth)
        if tag != "A":
            return None
        owner = self.static(scope, expr[1], depth + 1)
        if owner is None or owner[0] == "c":
            return None
        if owner[0] == "e":
            return ("e", f"{owner[1]}.{expr[2]}")
        sub = f"{owner[1]}.{expr[2]}"
        if sub in self.module_scope:
            return ("m", sub)
        return self._static_key(self.where_global(owner[1], expr[2]), depth)

    def _static_key(self, key: tuple | None, depth: int):
        if key is None or key[0] != "v" or depth > 12:
            return key
        scope, name = key[1], key[2]
        for stmt in self.scopes[scope].stmts:
            if stmt[0] == "=" and stmt[1] == ("N", name):
                value = stmt[2]
                if value[0] == "D":
                    gid = self._gid(scope, value[1])
                    return ("c", gid) if self.scopes[gid].kind == "class" else None
                if value[0] == "Q":
                    found = self.import_key(scope, value[1], value[2], value[3])
                    return self._static_key(found, depth + 1)
                if value[0] in ("N", "A"):
                    return self.static(scope, value, depth + 1)
                if value[0] == "C":
                    continue  # a decorated class: its name is bound again below or not at all
        for stmt in self.scopes[scope].stmts:  # @dataclass class C: bound through its decorator
            if stmt[0] == "=" and stmt[1] == ("N", name) and stmt[2][0] == "C":
                return self.decorated_class(scope, stmt[2][1])
        return None

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

    def decorated_class(self, scope: int, site: int):
        """The class under a chain of decorators (``@dataclass @other class C``), else None."""
        decs = self.dec_sites[self.file_of[self.scopes[scope].module]]
        for _ in range(8):
            arg = decs.get(site)
            if arg is None:
                return None
            if arg[0] == "D":
                gid = self._gid(scope, arg[1])
                return ("c", gid) if self.scopes[gid].kind == "class" else None
            if arg[0] != "C":
                return None
            site = arg[1]
        return None

    def _gid(self, scope: int, local: int) -> int:
        """Global id of scope ``local`` of the file that ``scope`` belongs to."""
        return self.module_scope[self.scopes[scope].module] + local

    def mro(self, cls: int) -> list[int]:
        """C3 linearisation over the classes of the tree (depth-first when C3 has no answer)."""
        found = self._mro.get(cls)
        if found is not None:
            return found
        self._mro[cls] = [cls]  # a base cycle in broken code stops here
        bases = [b[1] for b in self._bases(cls) if b[0] == "c"]
        order = _c3([cls], [self.mro(b) for b in bases] + [bases])
        if order is None:
            order = [cls]
            for b in bases:
                order += [c for c in self.mro(b) if c not in order]
        self._mro[cls] = order
        return order

    def ext_base(self, cls: int) -> str | None:
        """A base from outside the tree somewhere in the MRO (``torch.nn.Module``), if any."""
        if cls not in self._ext:
            self._ext[cls] = None
            for c in self.mro(cls):
                ext = next((b[1] for b in self._bases(c) if b[0] == "e"), None)
                if ext is not None:
                    self._ext[cls] = ext.removeprefix("builtins.") if ext == "builtins.object" else ext
                    break
            if self._ext[cls] == "object":
                self._ext[cls] = None
        return self._ext[cls]

    def lookup(self, cls: int, attr: str, after: int | None = None) -> int | None:
        """The class of ``cls``'s MRO whose body binds ``attr`` (``after``: past that class)."""
        order = self.mro(cls)
        if after is not None:
            order = order[order.index(after) + 1:] if after in order else self.mro(after)[1:]
        for c in order:
            if attr in self.scopes[c].bound:
                return c
        return None

    def scope_of_member(self, cls: int, name: str) -> int | None:
        return self.members.get((cls, name))

    def method(self, cls: int, name: str) -> int | None:
        owner = self.lookup(cls, name)
        return self.members.get((owner, name)) if owner is not None else None

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


def _c3(head: list[int], seqs: list[list[int]]) -> list[int] | None:
    out = list(head)
    seqs = [list(s) for s in seqs if s]
    while seqs:
        for seq in seqs:
            cand = seq[0]
            if not any(cand in s[1:] for s in seqs):
                break
        else:
            return None
        out.append(cand)
        seqs = [s[1:] if s[0] == cand else s for s in seqs]
        seqs = [s for s in seqs if s]
    return out
