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

from annotator.index.flow_expr import _UNKNOWN, Expressions, _params, _text

_METHOD_KINDS = {"staticmethod": "static", "classmethod": "class", "property": "property",
                 "cached_property": "property"}


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


class _Builder(Expressions):
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

def _field_spec(node) -> bool:
    """``field(...)``/``Field(...)`` in a class body describes a dataclass field, not its value."""
    if not isinstance(node, ast.Call):
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name in ("field", "Field", "PrivateAttr")
