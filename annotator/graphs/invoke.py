"""Calls, ``for`` and ``with`` in the solve: binding arguments, constructors, implicit dunders.

A mixin of :class:`annotator.graphs.solve.Solver`: what happens when a value reaches a call
site (the call graph is built here, on the fly), and what iterating or entering a value calls.
"""

from __future__ import annotations

from annotator.graphs.values import CALL, ELEM, NEXT, SLOT, UNK, Site


class Invocation:
    """Call semantics over the solver's nodes (``self`` is the :class:`Solver`)."""

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
        results = [site.result]
        if site.own and recv is not None:
            results.append(self.node(("rr", site.key, recv)))
        for result in results:
            if self.p.is_generator(func):
                self.add(result, self.v(("g", func)))
            else:
                self.edge(self.node(("r", func)), result)

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
