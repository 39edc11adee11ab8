"""Small summaries of what calls outside the tree do with their arguments.

A builtin such as ``map(f, xs)`` calls ``f``; ``sorted(xs, key=k)`` calls ``k``;
``functools.partial(f, a)`` makes something that calls ``f`` later; ``list(xs)`` and
``enumerate(xs)`` carry the elements of ``xs`` on; ``super()`` and ``type(x)`` name classes.
Everything else outside the tree is opaque: an edge to its dotted name and a result that is
itself outside the tree (``torch.cat()``), never unknown — what an external call returns is
not ours to resolve. A decorator from outside (``@functools.cache``, ``@torch.inference_mode()``)
is taken to return the function it wraps, which is what nearly all of them do; so are a few
known wrappers called as plain functions (``functools.lru_cache()(f)``, ``torch.compile(f)``).
"""

from __future__ import annotations

from annotator.graphs.solve import Solver
from annotator.graphs.values import CALL, ELEM, ITER, NEXT, SUPER, TYPE, Site

_COPIES = {"builtins.list": "list", "builtins.tuple": "tuple", "builtins.set": "set",
           "builtins.frozenset": "set", "builtins.reversed": "list", "builtins.sorted": "list",
           "builtins.iter": "list", "collections.deque": "list", "itertools.islice": "list"}
# Calls that return a wrapper running the function they are given (whatever the call site).
_WRAPPERS = frozenset({"functools.lru_cache", "functools.lru_cache()", "functools.cache",
                       "functools.wraps()", "functools.cached_property", "torch.compile",
                       "torch.compile()", "torch.no_grad()", "torch.inference_mode()",
                       "contextlib.contextmanager", "contextlib.asynccontextmanager",
                       "copy.copy", "copy.deepcopy"})  # (a copy is of the same classes)
_ADDS = frozenset({"append", "add", "appendleft", "put", "put_nowait", "push"})
_EXTENDS = frozenset({"extend", "extendleft", "update"})
_READS = frozenset({"get", "pop", "popleft", "popitem", "setdefault", "get_nowait", "__getitem__"})
_SAME = frozenset({"copy", "values", "keys"})


def external_call(s: Solver, site: Site, dotted: str) -> None:
    """The effect of calling ``dotted`` (outside the tree) at ``site``."""
    site.hit(dotted)
    first = site.args[0] if site.args and not isinstance(site.args[0], tuple) else None
    if site.implicit == "dec" or (dotted in _WRAPPERS and first is not None):
        if first is not None:
            s.edge(first, site.result)
        return
    if dotted in _COPIES and first is not None:
        box = _container(s, site, _COPIES[dotted])
        s.listen(first, (ITER, s.elem(box), site.scope, 0))
        _key_call(s, site, s.elem(box))
    elif dotted in ("builtins.map", "builtins.filter") and len(site.args) > 1:
        box = _container(s, site, "list")
        item = s.temp()
        s.listen(site.args[1], (ITER, item, site.scope, 0))
        _callback(s, site, site.args[0], (item,), s.elem(box) if dotted.endswith("map") else s.temp())
        if dotted.endswith("filter"):
            s.edge(item, s.elem(box))
    elif dotted in ("builtins.min", "builtins.max") and first is not None:
        s.listen(first, (ITER, site.result, site.scope, 0))
        _key_call(s, site, site.result)
    elif dotted == "builtins.enumerate" and first is not None:
        _zipped(s, site, [None, first])
    elif dotted == "builtins.zip":
        _zipped(s, site, list(site.args))
    elif dotted == "builtins.next" and first is not None:
        s.listen(first, (NEXT, site.result, site.scope, 0))
    elif dotted == "builtins.super":
        _super(s, site)
    elif dotted == "builtins.type" and len(site.args) == 1 and first is not None:
        s.listen(first, (TYPE, site.result))
    elif dotted in ("builtins.classmethod", "builtins.staticmethod", "builtins.property") and first:
        s.edge(first, site.result)
    elif dotted == "functools.partial" and first is not None:
        made = s.v(("p", site.key))
        s.partials[made] = site
        s.add(site.result, made)
    elif dotted == "builtins.dict":
        box = _container(s, site, "dict")
        for _name, arg in site.kwargs:
            s.edge(arg, s.elem(box))
        if first is not None:
            s.listen(first, (ELEM, s.elem(box)))
    else:
        s.add(site.result, s.ext(dotted + "()"))


def container_call(s: Solver, site: Site, box: int, name: str) -> None:
    """A method of a list, dict, set or tuple: where its arguments and results go."""
    kind = s.vals[box][1]
    site.hit(f"builtins.{kind}.{name}")
    args = [a for a in site.args if not isinstance(a, tuple)]
    if name in _ADDS and args:
        s.edge(args[-1], s.elem(box))
    elif name == "insert" and len(args) > 1:
        s.edge(args[1], s.elem(box))
    elif name in _EXTENDS and args:
        s.listen(args[0], (ELEM if kind == "dict" else ITER, s.elem(box), site.scope, 0))
        for _key, arg in site.kwargs:
            s.edge(arg, s.elem(box))
    elif name in _READS:
        if name == "setdefault" and len(args) > 1:
            s.edge(args[1], s.elem(box))
        s.edge(s.elem(box), site.result)
    elif name in _SAME:
        s.add(site.result, box)
    elif name == "items":
        pair = s.v(("x", "tuple", "items", box))
        s.edge(s.elem(box), s.slot(pair, 1))
        listing = s.v(("x", "list", "items", box))
        s.add(s.elem(listing), pair)
        s.add(site.result, listing)
    elif name == "sort":
        _key_call(s, site, s.elem(box))


def _container(s: Solver, site: Site, kind: str) -> int:
    box = s.v(("x", kind, "call", site.key))
    s.add(site.result, box)
    return box


def _key_call(s: Solver, site: Site, item: int) -> None:
    """``key=`` of sorted/min/max/list.sort is called with each element."""
    for name, arg in site.kwargs:
        if name == "key":
            _callback(s, site, arg, (item,), s.temp())


def _callback(s: Solver, site: Site, func: int, args: tuple, result: int) -> None:
    key = ("callback", site.key, func)
    if key in s.implicit or site.implicit in ("partial", "callback"):
        return
    inner = Site(key, site.scope, func, args, (), result, "callback")
    s.implicit[key] = inner
    s.listen(func, (CALL, inner))


def _zipped(s: Solver, site: Site, sources: list) -> None:
    """enumerate()/zip(): a list of tuples whose slot i holds the elements of argument i."""
    listing = _container(s, site, "list")
    pair = s.v(("x", "tuple", "zip", site.key))
    s.add(s.elem(listing), pair)
    for i, src in enumerate(sources):
        if src is not None and not isinstance(src, tuple):
            s.listen(src, (ITER, s.slot(pair, i), site.scope, 0))


def _super(s: Solver, site: Site) -> None:
    """``super()`` in a method: a proxy over the receiver, looking past the enclosing class."""
    found = s.p.enclosing_method(site.scope)
    if found is None:
        s.add(site.result, s.ext("builtins.super()"))
        return
    cls, first = found
    receiver = site.args[1] if len(site.args) > 1 and not isinstance(site.args[1], tuple) else first
    if receiver is not None:
        s.listen(receiver, (SUPER, site.result, cls))
