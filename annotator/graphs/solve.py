"""The points-to engine: inclusion constraints over abstract values, solved with a worklist.

Andersen-style: every variable, attribute slot, container element, return and call result is a
node holding a set of abstract values; a copy edge ``a → b`` says pts(b) ⊇ pts(a), and a
*listener* on a node reacts to each value that arrives there (load ``.attr`` from it, store into
it, call it, iterate it). Only what changed is propagated (difference propagation), and calls
are discovered while solving: a callee value arriving at a call site binds the site's arguments
to its parameters and its return to the site's result. :mod:`annotator.graphs.program` turns
the per-file flow into these constraints and answers the static questions (scopes, MRO).

Values are interned tuples (ids into :attr:`Solver.vals`): ("f", scope) a function or lambda,
("c", scope) a class, ("i", scope) an instance, ("m", module), ("b", func, receiver) a bound
method, ("e", dotted) something outside the tree, ("x", kind, *creation site) a container,
("g", func) a generator object, ("s", class, receiver) a ``super()`` proxy, ("p", site) a
``functools.partial``, ("cm", container, name) a container's method, and ("?",) unknown. A set
past :data:`CAP` values collapses to unknown, and a set holding unknown takes nothing more (any
site reading it is ambiguous already), which bounds the work on a tree the size of vLLM.
"""

from __future__ import annotations

from collections import deque

from annotator.graphs.invoke import Invocation
from annotator.graphs.values import (  # noqa: F401 (UNK, CAP: part of the engine's surface)
    ATTR, BIND, CALL, CAP, ELEM, INST, ITER, NEXT, SLOT, STORE, STORE_ELEM, STORE_SLOT,
    STORE_OWN, SUPER, TYPE, UNK, WITH, _NO_SEED, Site,
)


class Solver(Invocation):
    """Nodes, values and the worklist; the semantics of attributes, calls, iteration, ``with``."""

    def __init__(self, program) -> None:
        self.p = program
        self.vals: list[tuple] = [("?",)]
        self._vid: dict[tuple, int] = {("?",): 0}
        self._nid: dict[tuple, int] = {}
        self.pts: list[list[int]] = []  # lists, not sets: capped at CAP, and a third the memory
        self.succ: dict[int, list[int]] = {}  # lists: most nodes have one or two successors
        self._edges: set[int] = set()  # (a << 32) | b for each edge, to add each once
        self.lis: dict[int, list[tuple]] = {}
        self.pending: dict[int, list[int]] = {}  # values not yet propagated, per node
        self.work: deque[int] = deque()
        self.sites: list[Site] = []
        self.implicit: dict[tuple, Site] = {}
        self._bound: set[tuple] = set()
        self.partials: dict[int, Site] = {}
        self.seeds: list[tuple[int, int]] = []  # (node, value) for receivers nothing reached

    # -- primitives ---------------------------------------------------------------------------

    def v(self, value: tuple) -> int:
        found = self._vid.get(value)
        if found is None:
            found = self._vid[value] = len(self.vals)
            self.vals.append(value)
        return found

    def node(self, key: tuple) -> int:
        found = self._nid.get(key)
        if found is None:
            found = self._nid[key] = len(self.pts)
            self.pts.append([])
        return found

    def temp(self) -> int:
        self.pts.append([])
        return len(self.pts) - 1

    def const(self, value: tuple) -> int:
        """A node holding one value from the start (a def, a literal's container, a module)."""
        n = self.node(("k", value))
        self.add(n, self.v(value))
        return n

    def add(self, n: int, v: int) -> None:
        s = self.pts[n]
        if v in s or UNK in s:
            return  # unknown absorbs: every site reading this node is ambiguous already
        if len(s) >= CAP:
            v = UNK
        s.append(v)
        p = self.pending.get(n)
        if p is None:
            self.pending[n] = [v]
            self.work.append(n)
        else:
            p.append(v)

    def edge(self, a: int, b: int) -> None:
        if a == b:
            return
        key = (a << 32) | b
        if key in self._edges:
            return
        self._edges.add(key)
        out = self.succ.get(a)
        if out is None:
            self.succ[a] = [b]
        else:
            out.append(b)
        for v in tuple(self.pts[a]):
            self.add(b, v)

    def listen(self, n: int, listener: tuple) -> None:
        self.lis.setdefault(n, []).append(listener)
        for v in tuple(self.pts[n]):
            self.fire(listener, v)

    def run(self) -> None:
        work, pending, succ, lis, add, fire = (self.work, self.pending, self.succ, self.lis,
                                               self.add, self.fire)
        while work:
            n = work.popleft()
            delta = pending.pop(n)
            for s in tuple(succ.get(n, ())):
                for v in delta:
                    add(s, v)
            for listener in tuple(lis.get(n, ())):
                for v in delta:
                    fire(listener, v)

    def elem(self, v: int) -> int:
        return self.node(("el", v))

    def slot(self, v: int, key) -> int:
        key_node = ("sl", v, key)
        fresh = key_node not in self._nid
        n = self.node(key_node)
        if fresh:
            self.edge(n, self.elem(v))  # a read of any element sees every slot
        return n

    def ext(self, dotted: str) -> int:
        return self.v(("e", dotted))

    # -- listeners ----------------------------------------------------------------------------

    def fire(self, l: tuple, v: int) -> None:  # noqa: C901 (one dispatch over listener kinds)
        op = l[0]
        val = self.vals[v]
        tag = val[0]
        if op == CALL:
            self.call(v, val, l[1])
        elif op == ATTR:
            self.attr(v, val, l[2], l[1])
        elif tag == "?":
            if op not in (STORE, STORE_ELEM, STORE_SLOT, STORE_OWN, INST, TYPE) and l[1] >= 0:
                self.add(l[1], UNK)
        elif op == STORE:
            field = self._field(val, l[2])
            if field is not None:
                self.edge(l[1], field)
        elif op == STORE_OWN:  # (STORE_OWN, site key, attr): what this receiver's call returned
            field = self._field(val, l[2])
            if field is not None:
                self.edge(self.node(("rr", l[1], v)), field)
        elif op == ELEM:
            self._element(v, val, l[1])
        elif op == SLOT:  # (SLOT, dst, key[, exact]): exact reads no other element
            key = ("sl", v, l[2])
            if tag == "x" and key in self._nid:
                self.edge(self._nid[key], l[1])
            elif len(l) == 3:
                self._element(v, val, l[1])
        elif op == STORE_ELEM:
            if tag == "x":
                self.edge(l[1], self.elem(v))
        elif op == STORE_SLOT:
            if tag == "x":
                self.edge(l[1], self.slot(v, l[2]))
        elif op in (ITER, NEXT):
            self.iterate(v, val, l[1], l[2], l[3], op == NEXT)
        elif op == WITH:
            self.enter(v, val, l[1], l[2], l[3])
        elif op == INST:
            if tag == "c":
                self.add(l[1], self.v(("i", val[1])))
            elif tag == "e" and not val[1].startswith(_NO_SEED):
                self.add(l[1], self.ext(val[1] + "()"))
        elif op == BIND:
            self.bind_value(v, val, l[1], l[2])
        elif op == SUPER:
            self.add(l[1], self.v(("s", l[2], v)))
        elif op == TYPE:
            self.add(l[1], self.v(("c", val[1])) if tag == "i" else UNK)

    def _element(self, v: int, val: tuple, dst: int) -> None:
        if val[0] == "x":
            self.edge(self.elem(v), dst)
        elif val[0] == "e":
            self.add(dst, self.ext(val[1] + "[]"))

    def _field(self, val: tuple, attr: str) -> int | None:
        tag = val[0]
        if tag == "i":
            return self.node(("ia", val[1], attr))
        if tag == "c":
            return self.node(("v", val[1], attr))
        if tag == "m":
            return self.p.global_node(val[1], attr, create=True)
        return None

    def attr(self, v: int, val: tuple, attr: str, dst: int) -> None:
        tag, p = val[0], self.p
        if tag == "?":
            self.add(dst, UNK)
        elif tag == "e":
            self.add(dst, self.ext(f"{val[1]}.{attr}"))
        elif tag == "m":
            sub = f"{val[1]}.{attr}"
            if sub in p.module_scope:
                self.add(dst, self.v(("m", sub)))
            found = p.global_node(val[1], attr)
            if found is not None:
                self.edge(found, dst)
        elif tag in ("c", "i"):
            owner = p.lookup(val[1], attr)
            # no class body binds it: a member stored later (``Cls.x = f``) lives on the class
            self.listen(self.node(("v", owner if owner is not None else val[1], attr)), (BIND, dst, v))
            if tag == "i" and (owner is None or p.scope_of_member(owner, attr) is None) and (
                not p.is_declared(val[1], attr)
            ):
                self.edge(self.node(("ia", val[1], attr)), dst)
            if owner is None and p.ext_base(val[1]) and not (tag == "i" and p.instance_attr(val[1], attr)):
                self.add(dst, self.ext(f"{p.ext_base(val[1])}.{attr}"))
        elif tag == "x":
            self.add(dst, self.v(("cm", v, attr)))
        elif tag == "s":
            recv = self.vals[val[2]]
            runtime = recv[1] if recv[0] in ("i", "c") else val[1]
            owner = p.lookup(runtime, attr, after=val[1])
            if owner is not None:
                self.listen(self.node(("v", owner, attr)), (BIND, dst, val[2]))
            elif p.ext_base(val[1]):
                self.add(dst, self.ext(f"{p.ext_base(val[1])}.{attr}"))

    def bind_value(self, v: int, val: tuple, dst: int, recv: int) -> None:
        """A class member read through a receiver: functions become bound methods, as in Python."""
        if val[0] != "f":
            self.add(dst, v)
            return
        kind = self.p.method_kind(val[1])
        receiver = self.vals[recv]
        if kind == "static":
            self.add(dst, v)
        elif kind == "class":
            cls = receiver[1] if receiver[0] in ("i", "c") else None
            self.add(dst, self.v(("b", val[1], self.v(("c", cls)))) if cls is not None else v)
        elif kind == "property":
            self.edge(self.node(("r", val[1])), dst)
        elif receiver[0] == "c":
            self.add(dst, v)  # Class.method: the plain function
        else:
            self.add(dst, self.v(("b", val[1], recv)))
