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

CAP = 16  # values a node may hold before it is collapsed to unknown
UNK = 0  # the id of ("?",)
# listener opcodes
ATTR, STORE, CALL, ELEM, SLOT, STORE_ELEM, STORE_SLOT, ITER, WITH, INST, BIND, SUPER, NEXT, TYPE = range(14)
_NO_SEED = ("typing.", "typing_extensions.", "collections.abc.", "abc.", "builtins.object",
            "builtins.type", "enum.")


class Site:
    """One call: who calls, the callee node, argument nodes, the result node, what was found."""

    __slots__ = ("key", "scope", "callee", "args", "kwargs", "result", "implicit", "targets")

    def __init__(self, key, scope, callee, args, kwargs, result, implicit) -> None:
        self.key, self.scope, self.callee = key, scope, callee
        self.args, self.kwargs, self.result, self.implicit = args, kwargs, result, implicit
        self.targets: list = []  # scope ids (in the tree) and dotted names (outside it)

    def hit(self, target) -> None:
        """Record one callee found for this site (a list: a site has few, and sets cost 3×)."""
        if target not in self.targets:
            self.targets.append(target)


class Solver:
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
            if op not in (STORE, STORE_ELEM, STORE_SLOT, INST, TYPE) and l[1] >= 0:
                self.add(l[1], UNK)
        elif op == STORE:
            field = self._field(val, l[2])
            if field is not None:
                self.edge(l[1], field)
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

    # -- calls --------------------------------------------------------------------------------

    def call(self, v: int, val: tuple, site: Site) -> None:
        tag, p = val[0], self.p
        if site.implicit == "raise" and tag != "c":
            return  # ``raise err`` re-raises an instance: nothing is called
        if tag == "?":
            self.add(site.result, UNK)
        elif tag == "f":
            self.invoke(site, val[1], None)
        elif tag == "b":
            self.invoke(site, val[1], val[2])
        elif tag == "c":
            self.construct(site, val[1])
        elif tag == "i":
            target = p.method(val[1], "__call__")
            if target is None and p.ext_base(val[1]):
                target = p.method(val[1], "forward")  # torch's Module.__call__ runs forward()
                if target is None:
                    site.hit(f"{p.ext_base(val[1])}.__call__")
            if target is not None:
                self.invoke(site, target, v)
        elif tag == "e":
            from annotator.graphs.summaries import external_call

            external_call(self, site, val[1])
        elif tag == "cm":
            from annotator.graphs.summaries import container_call

            container_call(self, site, val[1], val[2])
        elif tag == "p":
            self.call_partial(v, site)

    def invoke(self, site: Site, func: int, recv: int | None) -> None:
        site.hit(func)
        key = (id(site), func, recv)
        if key in self._bound:
            return
        self._bound.add(key)
        self.bind_args(site, func, recv)
        if self.p.is_generator(func):
            self.add(site.result, self.v(("g", func)))
        else:
            self.edge(self.node(("r", func)), site.result)

    def construct(self, site: Site, cls: int) -> None:
        p = self.p
        inst = self.v(("i", cls))
        init = p.method(cls, "__init__")
        if init is not None:
            self.invoke(site, init, inst)
        else:
            base = p.ext_base(cls)
            site.hit(f"{base}.__init__" if base else "builtins.object.__init__")
        self.add(site.result, inst)

    def bind_args(self, site: Site, func: int, recv: int | None) -> None:
        """Positional, keyword, ``*`` and ``**`` arguments into the parameters of ``func``."""
        params = self.p.params(func)
        positional = [n for n, role in params if role == "p"]
        named = [n for n, role in params if role in ("p", "k")]  # a list: order must not vary
        star = next((n for n, role in params if role == "*"), None)
        dstar = next((n for n, role in params if role == "**"), None)
        i = 0
        if recv is not None and positional:
            self.add(self.node(("v", func, positional[0])), recv)
            i = 1
        for arg in site.args:
            if isinstance(arg, tuple):  # *iterable: any remaining positional parameter
                for name in positional[i:] + ([star] if star else []):
                    target = self.node(("v", func, name))
                    self.listen(arg[1], (ELEM, target if name != star else self._rest(func, star)))
                break
            if i < len(positional):
                self.edge(arg, self.node(("v", func, positional[i])))
            elif star is not None:
                self.edge(arg, self._rest(func, star))
            i += 1
        for name, arg in site.kwargs:
            if name is None:  # **mapping: each named parameter reads its own key, nothing else
                for param in named:
                    self.listen(arg, (SLOT, self.node(("v", func, param)), param, True))
            elif name in named:
                self.edge(arg, self.node(("v", func, name)))
            elif dstar is not None:
                self.edge(arg, self._rest(func, dstar, name))

    def _rest(self, func: int, name: str, key: str | None = None) -> int:
        """The element node (or ``key``'s slot) of a ``*args``/``**kwargs`` parameter's container."""
        values = self.pts[self.node(("v", func, name))]
        container = next((c for c in values if self.vals[c][0] == "x"), None)
        if container is None:
            return self.temp()
        return self.slot(container, key) if key is not None else self.elem(container)

    def call_partial(self, v: int, site: Site) -> None:
        made = self.partials.get(v)
        if made is None or not made.args or site.implicit in ("partial", "callback"):
            return  # a partial of a partial (or of itself) is not followed
        key = ("partial", site.key, v)
        if key in self.implicit:
            return
        inner = Site(key, site.scope, made.args[0], made.args[1:] + site.args,
                     made.kwargs + site.kwargs, site.result, "partial")
        self.implicit[key] = inner
        self.listen(made.args[0], (CALL, inner))

    def synthetic(self, kind: str, scope: int, line: int, owner, func: int, recv: int | None,
                  result: int) -> None:
        """An implicit call (``for``, ``with``): bound like a call, listed as an edge of its own."""
        key = (kind, scope, line, owner, func)
        site = self.implicit.get(key)
        if site is None:
            site = self.implicit[key] = Site(key, scope, None, (), (), result, kind)
        self.invoke(site, func, recv)

    # -- iteration and with -------------------------------------------------------------------

    def iterate(self, v: int, val: tuple, dst: int, scope: int, line: int, step: bool) -> None:
        """``for x in v`` (``step``: one ``next()`` on an iterator): what x can be."""
        tag, p = val[0], self.p
        if tag == "x":
            self.edge(self.elem(v), dst)
        elif tag == "g":
            self.edge(self.node(("y", val[1])), dst)
        elif tag == "e":
            self.add(dst, self.ext(val[1] + "[]"))
        elif tag == "c" and not step:
            self.add(dst, self.v(("i", val[1])))  # an Enum's members
        elif tag == "i":
            name = "__next__" if step else "__iter__"
            method = p.method(val[1], name)
            if method is None:
                if p.ext_base(val[1]):
                    self.add(dst, self.ext(f"{p.ext_base(val[1])}.{name}()"))
                return
            if step or p.is_generator(method):
                self.synthetic(name, scope, line, val[1], method, v, dst)
            else:
                it = self.node(("it", scope, line, method))
                self.synthetic(name, scope, line, val[1], method, v, it)
                self.listen(it, (NEXT, dst, scope, line))

    def enter(self, v: int, val: tuple, dst: int, scope: int, line: int) -> None:
        tag, p = val[0], self.p
        if tag == "g":
            if dst >= 0:
                self.edge(self.node(("y", val[1])), dst)  # a @contextmanager generator
        elif tag == "i":
            enter, exit_ = p.method(val[1], "__enter__"), p.method(val[1], "__exit__")
            sink = dst if dst >= 0 else self.temp()
            if enter is not None:
                self.synthetic("__enter__", scope, line, val[1], enter, v, sink)
            elif p.ext_base(val[1]):
                self.add(sink, self.ext(f"{p.ext_base(val[1])}.__enter__()"))
            if exit_ is not None:
                self.synthetic("__exit__", scope, line, val[1], exit_, v, self.temp())
        elif tag == "e" and dst >= 0:
            self.add(dst, self.ext(val[1] + ".__enter__()"))
        elif tag == "?" and dst >= 0:
            self.add(dst, UNK)
