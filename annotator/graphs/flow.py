"""Flow statements and call sites of every file → constraints of the points-to solve.

The per-file representation is documented in :mod:`annotator.index.flow`; this module is its
only reader. Expressions become nodes (a name is its variable's node, ``a.b`` a node fed by an
attribute listener on ``a``'s node, ``f(x)`` its call site's result node); statements become
copy edges and store listeners; each call site becomes a listener on its callee's node, so a
callee found late in the solve still binds arguments and returns (the call graph on the fly).
Two seeds come from the definitions themselves: annotations hold instances of what they name,
and a method's first parameter, when nothing else reaches it, an instance of its class (``cls``
the class; applied in a second round, see :func:`annotator.graphs.callgraph.solve`).
"""

from __future__ import annotations

from annotator.graphs.program import Program
from annotator.graphs.values import (ATTR, CALL, ELEM, INST, ITER, SLOT, STORE, STORE_ELEM,
                                     STORE_OWN, STORE_SLOT, WITH, Site)


def compile_program(p: Program) -> None:
    """Add the constraints of every scope and call site of the program to its solver."""
    p.settle_classes()
    compiler = _Compiler(p)
    for file_no, _, ids in list(p.file_sites):
        scopes, sites = p.flow_of(file_no)
        for gid, scope in zip(ids, scopes):
            p.scopes[gid].stmts = scope[4]
        compiler.file(file_no, sites, ids)
        p.release(file_no, sites)


class _Compiler:
    def __init__(self, p: Program) -> None:
        self.p, self.s = p, p.s
        self.unknown = self.s.const(("?",))
        self.empty = self.s.temp()
        self.memo: dict[tuple, int | None] = {}
        self.file_no = 0
        self.ids: list[int] = []
        self.results: list[int] = []
        self.own: set[int] = set()

    def file(self, file_no: int, sites: tuple, ids: list[int]) -> None:
        self.file_no, self.ids = file_no, ids
        self.memo = {}
        self.results = [self.s.temp() for _ in sites]  # each site's result node
        self.own = self._own_sites(sites, ids)
        for gid in ids:
            self._seed(gid)
            for stmt in self.p.scopes[gid].stmts:
                self.stmt(stmt, gid)
        for i, site in enumerate(sites):
            self.site(i, site)

    def _own_sites(self, sites: tuple, ids: list[int]) -> set[int]:
        """Sites of ``self.x = self.m(...)`` in methods: stored per receiver (see below).

        Each subclass may override ``m`` (``_build_model``); stored through one shared result,
        every subclass's ``x`` would hold what every override returns. Kept per receiver, an
        instance's ``x`` holds what its own ``m`` returns.
        """
        own = set()
        for gid in ids:
            me = self._receiver(gid)
            for stmt in self.p.scopes[gid].stmts if me else ():
                if (stmt[0] == "=" and stmt[1][0] == "A" and stmt[1][1] == me and stmt[2][0] == "C"):
                    callee = sites[stmt[2][1]][2]
                    if callee[0] == "A" and callee[1] == me:
                        own.add(stmt[2][1])
        return own

    def _receiver(self, gid: int) -> tuple | None:
        """``("N", self)`` for a plain method's first parameter, else None."""
        sc = self.p.scopes[gid]
        if sc.kind != "function" or not sc.params or sc.params[0][1] != "p" or sc.method:
            return None
        return ("N", sc.params[0][0]) if self.p.scopes[sc.parent].kind == "class" else None

    def _seed(self, gid: int) -> None:
        s, sc = self.s, self.p.scopes[gid]
        for name, role in sc.params:
            if role in ("*", "**"):
                box = s.v(("x", "tuple" if role == "*" else "dict", "va", gid, name))
                s.add(s.node(("v", gid, name)), box)
        if sc.kind != "function" or not sc.params or sc.params[0][1] != "p":
            return
        parent = self.p.scopes[sc.parent]
        if parent.kind == "class" and sc.method != "static":
            value = ("c", sc.parent) if sc.method == "class" else ("i", sc.parent)
            s.seeds.append((s.node(("v", gid, sc.params[0][0])), s.v(value)))

    # -- statements ---------------------------------------------------------------------------

    def stmt(self, stmt: tuple, scope: int) -> None:
        tag, s = stmt[0], self.s
        if tag == "=":
            src = self.expr(stmt[2], scope)
            if stmt[2][0] == "C" and stmt[1][0] == "N":
                # ``@dec class C``: C stays the class (what class decorators return, in practice;
                # the decorator is still called). Followed literally, a decorator factory with
                # an optional argument would make ``C(...)`` look like a call of its inner function.
                cls = self.p.decorated_class(scope, stmt[2][1])
                src = s.const(cls) if cls is not None else src
            if src is not None and self.p.scopes[scope].kind == "function" and (
                self.p.self_declaration(scope, stmt)
            ):
                s.edge(src, s.node(("v", self.p.scopes[scope].parent, stmt[1][2])))
            elif src is not None and stmt[2][0] == "C" and stmt[2][1] in self.own and (
                stmt[1][0] == "A" and stmt[1][1] == self._receiver(scope)
            ):
                me = self.p.load(scope, stmt[1][1][1])
                s.listen(me, (STORE_OWN, (self.file_no, stmt[2][1]), stmt[1][2]))
            elif src is not None:
                self.assign(stmt[1], src, scope)
        elif tag == "R" or tag == "Y":
            src = self.expr(stmt[1], scope)
            if src is not None:
                s.edge(src, s.node(("r" if tag == "R" else "y", scope)))
        elif tag == "F":
            src = self.expr(stmt[2], scope)
            if src is not None:
                item = s.temp()
                s.listen(src, (ITER, item, scope, stmt[3]))
                self.assign(stmt[1], item, scope)
        elif tag == "W":
            src = self.expr(stmt[2], scope)
            if src is not None:
                item = s.temp() if stmt[1] is not None else -1
                s.listen(src, (WITH, item, scope, stmt[3]))
                if stmt[1] is not None:
                    self.assign(stmt[1], item, scope)

    def assign(self, target: tuple, src: int, scope: int) -> None:
        tag, s = target[0], self.s
        if tag == "N":
            s.edge(src, self.p.store(scope, target[1]))
            return
        if tag == "P":
            star = target[2]
            for i, part in enumerate(target[1]):
                item = s.temp()
                s.listen(src, (SLOT, item, i) if star == -1 or i < star else (ELEM, item))
                self.assign(part, item, scope)
            return
        base = self.expr(target[1], scope)
        if base is None:
            return
        if tag == "A":
            s.listen(base, (STORE, src, target[2]))
        elif tag == "S":
            s.listen(base, (STORE_ELEM, src))
        elif tag == "K":
            s.listen(base, (STORE_SLOT, src, target[2]))

    # -- expressions --------------------------------------------------------------------------

    def expr(self, e: tuple, scope: int) -> int | None:
        tag = e[0]
        if tag == "N":
            return self.p.load(scope, e[1])
        if tag == "C":
            return self.results[e[1]]
        if tag == "O":
            return None
        if tag == "U":
            return self.unknown
        key = (scope, e)
        if key in self.memo:
            return self.memo[key]
        found = self.memo[key] = self._compound(e, scope)
        return found

    def _compound(self, e: tuple, scope: int) -> int | None:  # noqa: C901 (one dispatch)
        tag, s = e[0], self.s
        if tag == "D":
            gid = self.ids[e[1]]
            return s.const(("c" if self.p.scopes[gid].kind == "class" else "f", gid))
        if tag == "Q":
            return self.p.imported(scope, e[1], e[2], e[3])
        if tag == "L":
            return self._literal(e, scope)
        if tag == "M":
            return self._dict(e, scope)
        if tag == "I":
            out = s.temp()
            for part in e[1]:
                src = self.expr(part, scope)
                if src is not None:
                    s.edge(src, out)
            return out
        base = self.expr(e[1], scope)
        if base is None:
            return None
        out = s.temp()
        if tag == "A":
            s.listen(base, (ATTR, out, e[2]))
        elif tag == "S":
            s.listen(base, (ELEM, out))
        elif tag == "K":
            s.listen(base, (SLOT, out, e[2]))
        elif tag == "T":
            s.listen(base, (INST, out))
        elif tag == "G":
            s.listen(base, (ITER, out, scope, 0))
        return out

    def _literal(self, e: tuple, scope: int) -> int:
        s = self.s
        _, kind, uid, elts = e
        value = ("x", kind, self.file_no, uid)
        node, box = s.const(value), s.v(value)
        for i, el in enumerate(elts):
            if el[0] == "*":
                src = self.expr(el[1], scope)
                if src is not None:
                    s.listen(src, (ITER, s.elem(box), scope, 0))
                continue
            src = self.expr(el, scope)
            if src is not None:
                s.edge(src, s.slot(box, i) if kind == "tuple" else s.elem(box))
        return node

    def _dict(self, e: tuple, scope: int) -> int:
        s = self.s
        value = ("x", "dict", self.file_no, e[1])
        node, box = s.const(value), s.v(value)
        for key, item in e[2]:
            if key is None and item[0] == "G":
                src = self.expr(item[1], scope)
                if src is not None:
                    s.listen(src, (ELEM, s.elem(box)))
                continue
            src = self.expr(item, scope)
            if src is not None:
                s.edge(src, s.elem(box) if key is None else s.slot(box, key))
        return node

    # -- call sites ---------------------------------------------------------------------------

    def site(self, i: int, site: tuple) -> None:
        local, _line, callee, args, kwargs, implicit, _text = site
        scope = self.ids[local]
        s = self.s
        arg_nodes = []
        for a in args:
            if a[0] == "*":
                src = self.expr(a[1], scope)
                arg_nodes.append(("*", src if src is not None else self.empty))
            else:
                src = self.expr(a, scope)
                arg_nodes.append(src if src is not None else self.empty)
        kw_nodes = []
        for name, value in kwargs:
            src = self.expr(value, scope)
            kw_nodes.append((name, src if src is not None else self.empty))
        fn = self.expr(callee, scope)
        record = Site((self.file_no, i), scope, fn, tuple(arg_nodes), tuple(kw_nodes),
                      self.results[i], implicit)
        record.own = i in self.own
        s.sites.append(record)
        if fn is not None:
            s.listen(fn, (CALL, record))
