"""Per-file value-flow extraction for the call graph: scopes, assignments, returns, call sites.

The whole-program solve (:mod:`annotator.graphs.solve`) never reads Python; it reads this small
representation, cached by content hash beside the index. It is plain nested tuples of strings
and ints (marshal stores them fast), made from :mod:`ast` because the flow needs every
expression of the file, which the stdlib builds in C far faster than we could walk tree-sitter.

Shapes (kept in sync with the solver):
  flow   (scopes, sites)
  scope  (qualname, kind, parent, params, stmts, method, generator, line)
         kind "module" | "function" | "class" | "lambda"; parent the enclosing scope's index
         (-1 for the module); params ((name, role), ...) with role "p" | "*" | "**" | "k";
         method "static" | "class" | "property" | "" (from decorators); qualnames follow the
         index (``Class.method.inner``), lambdas are ``outer.<lambda1>``.
  site   (scope, line, callee, args, kwargs, implicit, text); args (expr | ("*", expr)), kwargs
         ((name | None, expr), ...); implicit "" for a written call, else "dec" | "raise".
  expr   ("N", name) ("A", expr, attr) ("C", site) ("S", expr) ("K", expr, key) ("D", scope)
         ("L", kind, uid, (expr, ...)) ("M", uid, ((key | None, expr), ...)) ("I", (expr, ...))
         ("T", expr: an annotation, read as an instance of it) ("G", expr: what iterating gives)
         ("Q", module, level, name) an imported module or name ("" name: the module itself)
         ("U",) unknown ("O",) a value no call can reach (literals, comparisons)
  stmt   ("=", target, expr) ("R", expr) ("Y", expr) ("F", target, expr, line)
         ("W", target | None, expr, line) ("B", bases) first in a class, ("g", names) for
         ``global``/``nonlocal``, ("*", module, level) for a star import; a target is
         ("N", n) ("A", e, a) ("S", e) ("K", e, k) or ("P", (target, ...), starred index | -1).
"""

from __future__ import annotations

import ast

_UNKNOWN = ("U",)
_OPAQUE = ("O",)
_METHOD_KINDS = {"staticmethod": "static", "classmethod": "class", "property": "property",
                 "cached_property": "property"}
_LITERAL_KINDS = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set"}
_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def extract_flow(data: bytes) -> tuple:
    """The flow representation of one file's bytes; ``((), ())`` when Python cannot parse it."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ((), ())
    builder = _Builder()
    try:
        builder.module(tree)
    except RecursionError:
        return ((), ())
    return tuple(builder.scopes), tuple(builder.sites)


class _Builder:
    """One pass over a module; ``scopes`` and ``sites`` fill up in source order."""

    def __init__(self) -> None:
        self.scopes: list[tuple] = []
        self.sites: list[tuple] = []
        self.stmts: list[list] = []  # stmts of each open scope, by scope index
        self.uid = 0
        self.lambdas: dict[int, int] = {}

    # -- scopes -------------------------------------------------------------------------------

    def _open(self, qualname: str, kind: str, parent: int, params: tuple, method: str,
              line: int) -> int:
        index = len(self.scopes)
        self.scopes.append((qualname, kind, parent, params, None, method, False, line))
        self.stmts.append([])
        return index

    def _close(self, index: int) -> None:
        q, kind, parent, params, _, method, _, line = self.scopes[index]
        stmts = tuple(self.stmts[index])
        generator = kind == "function" and any(s[0] == "Y" for s in stmts)
        self.scopes[index] = (q, kind, parent, params, stmts, method, generator, line)

    def module(self, tree: ast.Module) -> None:
        scope = self._open("", "module", -1, (), "", 1)
        self._body(tree.body, scope)
        self._close(scope)

    def _qual(self, scope: int, name: str) -> str:
        parent = self.scopes[scope][0]
        return f"{parent}.{name}" if parent else name

    def _function(self, node, scope: int) -> None:
        method = ""
        decorators = []
        for dec in node.decorator_list:
            name = dec.attr if isinstance(dec, ast.Attribute) else getattr(dec, "id", "")
            if name in _METHOD_KINDS and self.scopes[scope][1] == "class":
                method = _METHOD_KINDS[name]
            elif not (isinstance(dec, ast.Attribute) and dec.attr in ("setter", "deleter")):
                decorators.append(dec)
        params = _params(node.args)
        inner = self._open(self._qual(scope, node.name), "function", scope, params, method,
                           node.lineno)
        self._signature(node.args, node.returns, inner, scope)
        self._body(node.body, inner)
        self._close(inner)
        self._bind(scope, node.name, self._decorated(("D", inner), decorators, scope))

    def _signature(self, args: ast.arguments, returns, inner: int, outer: int) -> None:
        """Defaults (evaluated outside) and annotations (seeds) flow into the parameters."""
        positional = [*args.posonlyargs, *args.args]
        for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            self.stmts[inner].append(("=", ("N", arg.arg), self.expr(default, outer)))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                self.stmts[inner].append(("=", ("N", arg.arg), self.expr(default, outer)))
        for arg in (*positional, *args.kwonlyargs):
            if arg.annotation is not None:
                self.stmts[inner].append(("=", ("N", arg.arg), self._annotation(arg.annotation, outer)))
        if returns is not None:
            self.stmts[inner].append(("R", self._annotation(returns, outer)))

    def _annotation(self, node, scope: int) -> tuple:
        """``T``, ``"T"``, ``Optional[T]``, ``T | None``, ``Union[A, B]`` → instances of each."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return _OPAQUE
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return ("I", (self._annotation(node.left, scope), self._annotation(node.right, scope)))
        if isinstance(node, ast.Subscript):
            head = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            if head in ("Optional", "Union"):
                parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                return ("I", tuple(self._annotation(p, scope) for p in parts))
            return _OPAQUE  # containers of T: their elements are not seeded
        if isinstance(node, (ast.Name, ast.Attribute)):
            return ("T", self.expr(node, scope))
        return _OPAQUE

    def _class(self, node: ast.ClassDef, scope: int) -> None:
        bases = tuple(self.expr(b, scope) for b in node.bases)
        inner = self._open(self._qual(scope, node.name), "class", scope, (), "", node.lineno)
        self.stmts[inner].append(("B", bases))  # class scopes carry their bases first
        self._body(node.body, inner)
        self._close(inner)
        self._bind(scope, node.name, self._decorated(("D", inner), node.decorator_list, scope))

    def _decorated(self, value: tuple, decorators: list, scope: int) -> tuple:
        """``@a @b def f`` binds ``f = a(b(f))``: each decorator is a call site of its own."""
        for dec in reversed(decorators):
            value = ("C", self._site(scope, dec.lineno, self.expr(dec, scope), (value,), (),
                                     "dec", _text(dec)))
        return value

    def _bind(self, scope: int, name: str, value: tuple) -> None:
        self.stmts[scope].append(("=", ("N", name), value))

    def _site(self, scope: int, line: int, callee: tuple, args: tuple, kwargs: tuple,
              implicit: str, text: str) -> int:
        self.sites.append((scope, line, callee, args, kwargs, implicit, text))
        return len(self.sites) - 1

    # -- statements ---------------------------------------------------------------------------

    def _body(self, body: list, scope: int) -> None:
        for stmt in body:
            self._stmt(stmt, scope)

    def _stmt(self, node, scope: int) -> None:  # noqa: C901 (one dispatch over statement kinds)
        out = self.stmts[scope]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._function(node, scope)
        elif isinstance(node, ast.ClassDef):
            self._class(node, scope)
        elif isinstance(node, ast.Assign):
            value = self.expr(node.value, scope)
            for target in node.targets:
                out.append(("=", self.target(target, scope), value))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            target = self.target(node.target, scope)
            if isinstance(node, ast.AnnAssign):
                out.append(("=", target, self._annotation(node.annotation, scope)))
                if node.value is not None:
                    value = self.expr(node.value, scope)
                    if not (self.scopes[scope][1] == "class" and _field_spec(node.value)):
                        out.append(("=", target, value))
            else:
                self.expr(node.value, scope)
                out.append(("=", target, _UNKNOWN))
        elif isinstance(node, ast.Return):
            if node.value is not None:
                out.append(("R", self.expr(node.value, scope)))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            out.append(("F", self.target(node.target, scope), self.expr(node.iter, scope), node.lineno))
            self._body(node.body, scope)
            self._body(node.orelse, scope)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                target = self.target(item.optional_vars, scope) if item.optional_vars else None
                out.append(("W", target, self.expr(item.context_expr, scope), node.lineno))
            self._body(node.body, scope)
        elif isinstance(node, ast.Raise):
            if node.exc is not None:
                self._raise(node.exc, scope)
            if node.cause is not None:
                self.expr(node.cause, scope)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(node, scope)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.append(("g", tuple(node.names)))
        else:
            self._compound(node, scope)

    def _compound(self, node, scope: int) -> None:
        """Other statements: walk their expressions and nested bodies."""
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self._body(node.body, scope)
            for handler in node.handlers:
                if handler.type is not None:
                    self.expr(handler.type, scope)
                if handler.name:
                    instance = ("T", self.expr(handler.type, scope)) if handler.type else _UNKNOWN
                    self.stmts[scope].append(("=", ("N", handler.name), instance))
                self._body(handler.body, scope)
            self._body(node.orelse, scope)
            self._body(node.finalbody, scope)
            return
        for _field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._body(value, scope)
            elif isinstance(value, list):
                for item in value:
                    self._nested(item, scope)
            elif isinstance(value, ast.AST):
                self._nested(value, scope)

    def _nested(self, node, scope: int) -> None:
        if isinstance(node, ast.expr):
            self.expr(node, scope)
        elif isinstance(node, ast.match_case):
            self._body(node.body, scope)

    def _raise(self, exc, scope: int) -> None:
        """``raise C`` instantiates C: an implicit call site; ``raise C(...)`` is a call already."""
        if isinstance(exc, (ast.Name, ast.Attribute)):
            self._site(scope, exc.lineno, self.expr(exc, scope), (), (), "raise", _text(exc))
        else:
            self.expr(exc, scope)

    def _import(self, node, scope: int) -> None:
        out = self.stmts[scope]
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out.append(("=", ("N", alias.asname), ("Q", alias.name, 0, "")))
                else:
                    head = alias.name.partition(".")[0]
                    out.append(("=", ("N", head), ("Q", head, 0, "")))
            return
        for alias in node.names:
            if alias.name == "*":
                out.append(("*", node.module or "", node.level))
            else:
                out.append(("=", ("N", alias.asname or alias.name),
                            ("Q", node.module or "", node.level, alias.name)))

    # -- targets and expressions --------------------------------------------------------------

    def target(self, node, scope: int) -> tuple:
        if isinstance(node, ast.Name):
            return ("N", node.id)
        if isinstance(node, ast.Attribute):
            return ("A", self.expr(node.value, scope), node.attr)
        if isinstance(node, ast.Subscript):
            obj = self.expr(node.value, scope)
            key = _const_key(node.slice)
            self.expr(node.slice, scope)
            return ("K", obj, key) if key is not None else ("S", obj)
        if isinstance(node, (ast.Tuple, ast.List)):
            star = next((i for i, e in enumerate(node.elts) if isinstance(e, ast.Starred)), -1)
            parts = tuple(self.target(e.value if isinstance(e, ast.Starred) else e, scope)
                          for e in node.elts)
            return ("P", parts, star)
        if isinstance(node, ast.Starred):
            return self.target(node.value, scope)
        return ("N", "<?>")

    def expr(self, node, scope: int) -> tuple:  # noqa: C901 (one dispatch over expression kinds)
        if isinstance(node, ast.Name):
            return ("N", node.id)
        if isinstance(node, ast.Attribute):
            return ("A", self.expr(node.value, scope), node.attr)
        if isinstance(node, ast.Call):
            return ("C", self._call(node, scope))
        if isinstance(node, ast.Constant):
            return _OPAQUE
        if isinstance(node, ast.Subscript):
            obj = self.expr(node.value, scope)
            key = _const_key(node.slice)
            self.expr(node.slice, scope)
            return ("K", obj, key) if key is not None else ("S", obj)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            self.uid += 1
            elts = tuple(("*", self.expr(e.value, scope)) if isinstance(e, ast.Starred)
                         else self.expr(e, scope) for e in node.elts)
            return ("L", _LITERAL_KINDS[type(node)], self.uid, elts)
        if isinstance(node, ast.Dict):
            self.uid += 1
            items = tuple((_const_key(k) if k is not None else None,
                           self.expr(v, scope) if k is not None else ("G", self.expr(v, scope)))
                          for k, v in zip(node.keys, node.values))
            for k in node.keys:
                if k is not None:
                    self.expr(k, scope)
            return ("M", self.uid, items)
        if isinstance(node, ast.Lambda):
            return self._lambda(node, scope)
        if isinstance(node, (ast.BoolOp,)):
            return ("I", tuple(self.expr(v, scope) for v in node.values))
        if isinstance(node, ast.IfExp):
            self.expr(node.test, scope)
            return ("I", (self.expr(node.body, scope), self.expr(node.orelse, scope)))
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value, scope)
            self.stmts[scope].append(("=", ("N", node.target.id), value))
            return value
        if isinstance(node, ast.Await):
            return self.expr(node.value, scope)
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            if node.value is not None:
                value = self.expr(node.value, scope)
                self.stmts[scope].append(("Y", ("G", value) if isinstance(node, ast.YieldFrom) else value))
            return _UNKNOWN  # what send() passes in
        if isinstance(node, _COMPS):
            return self._comprehension(node, scope)
        if isinstance(node, ast.Starred):
            return self.expr(node.value, scope)
        for child in ast.iter_child_nodes(node):  # operators, comparisons, f-strings
            if isinstance(child, ast.expr):
                self.expr(child, scope)
        if isinstance(node, (ast.Compare, ast.JoinedStr)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            return _OPAQUE
        return _UNKNOWN

    def _call(self, node: ast.Call, scope: int) -> int:
        callee = self.expr(node.func, scope)
        args = tuple(("*", self.expr(a.value, scope)) if isinstance(a, ast.Starred)
                     else self.expr(a, scope) for a in node.args)
        kwargs = tuple((k.arg, self.expr(k.value, scope)) for k in node.keywords)
        return self._site(scope, node.lineno, callee, args, kwargs, "", _text(node.func))

    def _lambda(self, node: ast.Lambda, scope: int) -> tuple:
        n = self.lambdas.get(scope, 0) + 1
        self.lambdas[scope] = n
        inner = self._open(self._qual(scope, f"<lambda{n}>"), "lambda", scope,
                           _params(node.args), "", node.lineno)
        self._signature(node.args, None, inner, scope)
        self.stmts[inner].append(("R", self.expr(node.body, inner)))
        self._close(inner)
        return ("D", inner)

    def _comprehension(self, node, scope: int) -> tuple:
        """Comprehension variables live in the enclosing scope here (a small, safe merge)."""
        for gen in node.generators:
            self.stmts[scope].append(("F", self.target(gen.target, scope),
                                      self.expr(gen.iter, scope), gen.iter.lineno))
            for cond in gen.ifs:
                self.expr(cond, scope)
        self.uid += 1
        if isinstance(node, ast.DictComp):
            self.expr(node.key, scope)
            return ("M", self.uid, ((None, self.expr(node.value, scope)),))
        kind = "set" if isinstance(node, ast.SetComp) else "list"
        return ("L", kind, self.uid, (self.expr(node.elt, scope),))


def _field_spec(node) -> bool:
    """``field(...)``/``Field(...)`` in a class body describes a dataclass field, not its value."""
    if not isinstance(node, ast.Call):
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name in ("field", "Field", "PrivateAttr")


def _params(args: ast.arguments) -> tuple:
    out = [(a.arg, "p") for a in (*args.posonlyargs, *args.args)]
    if args.vararg is not None:
        out.append((args.vararg.arg, "*"))
    out += [(a.arg, "k") for a in args.kwonlyargs]
    if args.kwarg is not None:
        out.append((args.kwarg.arg, "**"))
    return tuple(out)


def _const_key(node) -> str | int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    return None


def _text(node) -> str:
    """A callee's source-like text, for listing unresolved sites (dotted names stay readable)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_text(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_text(node.func)}()"
    if isinstance(node, ast.Subscript):
        return f"{_text(node.value)}[]"
    return f"<{type(node).__name__.lower()}>"
