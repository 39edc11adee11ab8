"""Shared vocabulary of the points-to solve: listener opcodes, caps, and the call-site record."""

from __future__ import annotations

CAP = 16  # values a node may hold before it is collapsed to unknown
UNK = 0  # the id of ("?",)
# listener opcodes
(ATTR, STORE, CALL, ELEM, SLOT, STORE_ELEM, STORE_SLOT, ITER, WITH, INST, BIND, SUPER, NEXT, TYPE,
 STORE_OWN) = range(15)
_NO_SEED = ("typing.", "typing_extensions.", "collections.abc.", "abc.", "builtins.object",
            "builtins.type", "enum.")


class Site:
    """One call: who calls, the callee node, argument nodes, the result node, what was found."""

    __slots__ = ("key", "scope", "callee", "args", "kwargs", "result", "implicit", "targets", "own")

    def __init__(self, key, scope, callee, args, kwargs, result, implicit) -> None:
        self.key, self.scope, self.callee = key, scope, callee
        self.args, self.kwargs, self.result, self.implicit = args, kwargs, result, implicit
        self.targets: list = []  # scope ids (in the tree) and dotted names (outside it)
        self.own = False  # ``self.x = self.m()``: also keep each receiver's result apart

    def hit(self, target) -> None:
        """Record one callee found for this site (a list: a site has few, and sets cost 3×)."""
        if target not in self.targets:
            self.targets.append(target)
