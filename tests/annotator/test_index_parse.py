"""Tests for the per-file tree-sitter extraction: symbols, docstrings, imports, calls, errors."""

from __future__ import annotations

import textwrap

import pytest

from annotator.index.cache import decode
from annotator.index import parse as index_parse
from annotator.index.parse import extract, extract_safely, first_sentence
from annotator.records import FileIndex


def index_of(source: str) -> FileIndex:
    """Extract a dedented snippet and decode it into records, as the index would."""
    data = textwrap.dedent(source).lstrip("\n").encode("utf-8")
    return decode(extract(data), "pkg/mod.py", "pkg.mod", "0" * 64)


def by_name(fi: FileIndex) -> dict:
    return {s.qualname: s for s in fi.symbols}


def test_nested_qualnames_use_dots_not_locals():
    """Methods are Class.method, nested functions outer.inner, and depth composes."""
    fi = index_of(
        """
        class A:
            def m(self):
                def helper():
                    pass
                class Local:
                    def run(self):
                        pass
        def outer():
            def inner():
                pass
        """
    )
    syms = by_name(fi)
    assert set(syms) == {"A", "A.m", "A.m.helper", "A.m.Local", "A.m.Local.run", "outer", "outer.inner"}
    assert syms["A"].kind == "class"
    assert syms["A.m"].kind == "method"
    assert syms["A.m.helper"].kind == "function"
    assert syms["A.m.Local.run"].kind == "method"
    assert syms["outer.inner"].kind == "function"


def test_decorators_start_the_span_and_def_line_is_kept():
    """A decorated def starts at its first decorator; line is the def line; end is the last body line."""
    fi = index_of(
        """
        import functools

        @functools.lru_cache(maxsize=None)
        @staticmethod
        async def cached(x):
            return x
        """
    )
    sym = by_name(fi)["cached"]
    assert (sym.start, sym.line, sym.end) == (3, 5, 6)


def test_trailing_comments_do_not_extend_a_definition():
    """A comment after the last statement is not part of the definition's span."""
    fi = index_of(
        """
        def f():
            x = call(
                1,
            )
            # a comment tree-sitter keeps inside the block

        # a module comment
        y = 2
        """
    )
    assert by_name(fi)["f"].end == 4


def test_docstring_end_and_first_sentence():
    """Docstring end line and first sentence are recorded; a def without one has 0 and ""."""
    fi = index_of(
        '''
        """Module summary here. More words."""

        def f():
            """Return the thing.

            Details that are not the summary.
            """
            return 1

        def g():
            return 2
        '''
    )
    syms = by_name(fi)
    assert fi.summary == "Module summary here."
    assert (syms["f"].doc_end, syms["f"].summary) == (7, "Return the thing.")
    assert (syms["g"].doc_end, syms["g"].summary) == (0, "")


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ('"""One. Two."""', "One."),
        ("r'''Raw text, e.g. here'''", "Raw text, e.g. here"),
        ('"""\n    Spread\n    over lines. Next.\n"""', "Spread over lines."),
        ('"""Version 1.2 is out"""', "Version 1.2 is out"),
        ('"""First para\n\nSecond para."""', "First para"),
    ],
)
def test_first_sentence(literal, expected):
    """The first sentence stops at a period followed by space/end, within the first paragraph."""
    assert first_sentence(literal) == expected


def test_imports_absolute_relative_aliases_and_star():
    """Each import form is recorded with its module, names, aliases and relative level."""
    fi = index_of(
        """
        import os.path, numpy as np
        from . import sibling
        from ..pkg.sub import a as b, c
        from ... import *
        from __future__ import annotations
        def f():
            from x.y import z
        """
    )
    got = [(r.module, r.names, r.level, r.line, r.asname) for r in fi.imports]
    assert got == [
        ("os.path", (), 0, 1, None),
        ("numpy", (), 0, 1, "np"),
        ("", (("sibling", None),), 1, 2, None),
        ("pkg.sub", (("a", "b"), ("c", None)), 2, 3, None),
        ("", (("*", None),), 3, 4, None),
        ("__future__", (("annotations", None),), 0, 5, None),
        ("x.y", (("z", None),), 0, 7, None),
    ]


def test_call_sites_carry_the_innermost_caller():
    """Calls belong to the innermost def body; decorators and defaults to the enclosing scope."""
    fi = index_of(
        """
        setup()

        class K:
            attr = make()

            @deco(1)
            def m(self, x=default()):
                self.go()
                def inner():
                    helper.run(
                        1)
                return inner()
        """
    )
    got = [(c.caller, c.callee, c.line) for c in fi.calls]
    assert got == [
        ("", "setup", 1),
        ("K", "make", 4),
        ("K", "deco", 6),
        ("K", "default", 7),  # default values run when the def runs, in the class body
        ("K.m", "self.go", 8),
        ("K.m.inner", "helper.run", 10),
        ("K.m", "inner", 12),
    ]


def test_callee_text_is_one_line():
    """A callee written over several lines is recorded with its whitespace collapsed."""
    fi = index_of(
        """
        x = (a
             .b
             .c)(1)
        """
    )
    assert [c.callee for c in fi.calls] == ["(a .b .c)"]


def test_call_sites_starting_at_one_byte_come_out_in_one_order():
    """Callees sharing a start byte (``f()()``: ``f`` and ``f()``) are ordered by span, shortest first."""
    fi = index_of("f()()\ng(h())(k)\n")
    assert [c.callee for c in fi.calls] == ["f", "f()", "g", "g(h())", "h"]


def test_attr_types_from_init_and_class_bases():
    """__init__'s self.x = Ctor(), annotations and annotated parameters type attributes; bases skip keywords."""
    fi = index_of(
        """
        class Pool(base.Base, Generic[T], metaclass=Meta):
            def __init__(self, n, pool: "Optional[mod.Pool]" = None, *, kind: Kind | None = None):
                self.queue = FreeQueue(n)
                self.size: int = compute(n)
                self.plain = n
                self.pool = pool
                self.kind = kind
                other.attr = Thing()

            def later(self):
                self.late = Late()
        """
    )
    assert [(a.cls, a.attr, a.ctor, a.line) for a in fi.attr_types] == [
        ("Pool", "queue", "FreeQueue", 3),
        ("Pool", "size", "int", 4),
        ("Pool", "pool", "mod.Pool", 6),
        ("Pool", "kind", "Kind", 7),
    ]
    assert [(b.cls, b.bases) for b in fi.bases] == [("Pool", ("base.Base", "Generic[T]"))]


def test_unparseable_file_is_indexed_as_far_as_possible():
    """A syntax error is reported with line:col, and the defs around it are still indexed."""
    fi = index_of(
        """
        def good():
            return 1

        def broken(:
            pass

        class After:
            def m(self):
                return 2
        """
    )
    assert fi.errors and all(e.split(":")[0].isdigit() for e in fi.errors)
    assert fi.errors[0].startswith("4:")
    assert {"good", "After", "After.m"} <= set(by_name(fi))


def test_line_count_and_empty_file():
    """n_lines counts a last line without a newline; an empty file has no lines and no symbols."""
    assert decode(extract(b"a = 1\nb = 2"), "m.py", "m", "").n_lines == 2
    empty = decode(extract(b""), "m.py", "m", "")
    assert (empty.n_lines, empty.symbols, empty.errors) == (0, (), ())


def test_an_extraction_failure_stays_with_its_file(monkeypatch):
    """If extraction raises, extract_safely records the error on that file and returns lines."""

    def boom(data):
        raise RuntimeError("bad node")

    monkeypatch.setattr(index_parse, "extract", boom)
    fi = decode(extract_safely(b"a = 1\nb = 2\n"), "m.py", "m", "")
    assert (fi.n_lines, fi.symbols, fi.calls) == (2, (), ())
    assert fi.errors == ("1:1: not indexed (RuntimeError('bad node'))",)
