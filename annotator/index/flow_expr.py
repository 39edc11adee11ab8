"""Expressions and assignment targets of the value flow (see :mod:`annotator.index.flow`).

A mixin of the flow builder: each expression becomes a small tuple the solver reads (a name,
an attribute of an expression, a call site's result, a container literal, an annotation read as
an instance of what it names, ...). The shapes are documented in :mod:`annotator.index.flow`.
"""

from __future__ import annotations

import ast

_UNKNOWN = ("U",)
_OPAQUE = ("O",)
_LITERAL_KINDS = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set"}
_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


class Expressions:
    """Expression and target building over the builder's ``scopes``, ``sites``, ``stmts``."""

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

    def target(self, node, scope: int) -> tuple:
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            return self.expr(node, scope)  # a stored-to name, attribute or item reads the same
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
