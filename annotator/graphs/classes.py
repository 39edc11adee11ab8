"""What the program's classes are: their bases, C3 order, members and declared attributes.

A mixin of :class:`annotator.graphs.program.Program`, kept apart because it answers a different
question (the static shape of classes) from the rest (scopes and names). Base-class lists are
read without solving: names, imports and attribute chains, which is how bases are written.
"""

from __future__ import annotations


class ClassFacts:
    """Class questions over ``self.scopes`` (see :class:`~annotator.graphs.program.Program`)."""

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
                    self._ext[cls] = None if ext in ("builtins.object", "object") else ext
                    break
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
