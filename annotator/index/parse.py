"""Per-file extraction with tree-sitter: definitions, docstrings, imports, call sites.

One query pass collects every node we care about (tree-sitter walks the tree in C; walking it
in Python would cost more than the parse). The result is a plain tuple (see
:mod:`annotator.index.cache`) so workers can hand it back cheaply and the cache can store it
without pickling dataclasses. Nothing here is fatal: a file tree-sitter cannot fully parse is
indexed as far as it recovers, and each ERROR/MISSING region is reported as ``line:col: ...``.

Qualified names: a definition nested in a class or function gets its parent's qualname plus a
dot — ``Class.method``, ``outer.inner``, ``Class.method.helper`` (never ``<locals>``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from tree_sitter import Language, Node, Parser, Query, QueryCursor

# One pass over the tree; alternation patterns cost about one traversal whatever their number.
_MAIN_QUERY = """
[(function_definition) @def
 (class_definition) @def
 (call function: (_) @callee)
 (import_statement) @imp
 (import_from_statement) @imp
 (future_import_statement) @imp]
"""
_ERROR_QUERY = "[(ERROR) (MISSING)] @err"
_ATTR_QUERY = """
(assignment left: (attribute object: (identifier) @obj attribute: (identifier) @attr)
            right: (call function: (_) @ctor))
(assignment left: (attribute object: (identifier) @obj attribute: (identifier) @attr)
            right: (identifier) @param)
(assignment left: (attribute object: (identifier) @obj attribute: (identifier) @attr)
            type: (type) @type)
"""
# Optional[X], X | None and "X" all declare X.
_OPTIONAL = re.compile(r"^(?:typing\.)?Optional\[(.+)\]$|^(.+?)\s*\|\s*None$|^None\s*\|\s*(.+)$")
_MAX_CALLEE = 200  # callee texts longer than this (lambdas, big expressions) are cut
_SPACE = re.compile(rb"\s+")
_STRING_PREFIX = re.compile(r"^[rRuUbBfF]*('''|\"\"\"|'|\")")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "cf", "approx", "resp", "(e.g", "(i.e"})

# Encoded shapes (kept in sync with index_cache.decode):
#   symbol  (qualname, kind, start, line, end, doc_end, summary)
#   import  (module, ((name, asname), ...), level, line, asname)
#   calls   ((caller, ...), (callee, ...), (line, ...))  — columns: 3 tuples load faster than
#           200k small row tuples
#   attr    (cls, attr, class expression, line)
#   bases   (cls, (base, ...))
#   file    (n_lines, summary, symbols, imports, calls, attrs, bases, errors)


@lru_cache(maxsize=1)
def _machinery() -> tuple[Parser, Query, Query, Query]:
    """Parser and compiled queries, built once per process (compiling a query costs milliseconds)."""
    import tree_sitter_python

    language = Language(tree_sitter_python.language())
    return (
        Parser(language),
        Query(language, _MAIN_QUERY),
        Query(language, _ERROR_QUERY),
        Query(language, _ATTR_QUERY),
    )


def extract_safely(data: bytes) -> tuple:
    """:func:`extract`, but a failure of ours becomes an error on that one file, never a crash.

    Like LibCST's per-file results: one odd file (or a bug here) must not stop a 3,000-file
    run; the file is reported with no symbols and the exception named in its errors.
    """
    try:
        return extract(data)
    except Exception as exc:  # noqa: BLE001 (reported per file, by design)
        empty = ((), (), ())
        return (count_lines(data), "", (), (), empty, (), (), (f"1:1: not indexed ({exc!r})",))


def extract(data: bytes) -> tuple:
    """Index one file's bytes; returns the encoded file tuple (see the shapes above)."""
    parser, main_query, error_query, attr_query = _machinery()
    tree = parser.parse(data)
    root = tree.root_node
    caps = QueryCursor(main_query).captures(root)
    defs = sorted(caps.get("def", ()), key=_start_byte)
    symbols, scopes, classes, inits = _symbols(defs, data)
    calls = _calls(caps.get("callee", ()), scopes, data)
    imports = tuple(r for node in caps.get("imp", ()) for r in _imports(node))
    attrs = _attr_types(inits, attr_query)
    errors = _errors(root, error_query) if root.has_error else ()
    summary = _docstring(root)[1]
    return (count_lines(data), summary, symbols, tuple(sorted(imports, key=lambda r: r[3])), calls,
            attrs, classes, errors)


def count_lines(data: bytes) -> int:
    """Text lines in ``data``: newlines, plus one for a final line that has no newline."""
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _start_byte(node: Node) -> int:
    return node.start_byte


def _span(node: Node) -> tuple[int, int]:
    """A total order on nodes: two callees can start at one byte (``f()()``: ``f()`` and ``f``)."""
    return node.byte_range


def _symbols(defs: list[Node], data: bytes) -> tuple[tuple, list, tuple, list]:
    """Symbols with nesting-aware qualnames, the scopes calls are attributed to, bases, inits.

    ``defs`` are in source order, so a stack of open definitions gives each one its parent.
    """
    symbols: list[tuple] = []
    scopes: list[tuple[int, int, str]] = []  # (body start, body end, qualname)
    bases: list[tuple] = []
    inits: list[tuple[str, Node]] = []
    stack: list[tuple[int, str, bool]] = []  # (end byte, qualname, is_class)
    for node in defs:
        while stack and stack[-1][0] <= node.start_byte:
            stack.pop()
        name_node = node.child_by_field_name("name")
        if name_node is None:
            continue
        name = _text(name_node)
        is_class = node.type == "class_definition"
        parent = stack[-1] if stack else None
        qualname = f"{parent[1]}.{name}" if parent else name
        kind = "class" if is_class else ("method" if parent and parent[2] else "function")
        outer = node.parent  # a decorated def's span starts at its first decorator
        start = outer if outer is not None and outer.type == "decorated_definition" else node
        body = node.child_by_field_name("body")
        doc_end, summary = _docstring(body) if body is not None else (0, "")
        symbols.append((qualname, kind, start.start_point[0] + 1, node.start_point[0] + 1,
                        _end_line(node, data), doc_end, summary))
        if body is not None:
            scopes.append((body.start_byte, body.end_byte, qualname))
        if is_class:
            bases.append((qualname, _bases(node)))
        elif name == "__init__" and parent and parent[2] and body is not None:
            inits.append((parent[1], node))
        stack.append((node.end_byte, qualname, is_class))
    return tuple(symbols), scopes, tuple(bases), inits


def _end_line(node: Node, data: bytes) -> int:
    """Last line of a definition's code; trailing comments tree-sitter folds into a body don't count."""
    end = node.end_byte
    line_start = data.rfind(b"\n", 0, end) + 1
    if not data[line_start:end].lstrip().startswith(b"#"):
        return node.end_point[0] + 1
    cur = node
    while cur.child_count:  # down to the last token that is not a comment
        kids = cur.children
        i = len(kids) - 1
        while i >= 0 and kids[i].type == "comment":
            i -= 1
        if i < 0:
            break
        cur = kids[i]
    return cur.end_point[0] + 1


def _bases(node: Node) -> tuple[str, ...]:
    """Positional base-class expressions (keywords such as ``metaclass=`` are not bases)."""
    supers = node.child_by_field_name("superclasses")
    if supers is None:
        return ()
    return tuple(
        _text(arg) for arg in supers.named_children
        if arg.type not in ("keyword_argument", "comment", "dictionary_splat", "list_splat")
    )


def _docstring(body: Node) -> tuple[int, str]:
    """(last line, first sentence) of the docstring opening ``body``; (0, "") when there is none."""
    # named_child(0), not named_children: a module body may hold thousands of statements
    first = body.named_child(0) if body.named_child_count else None
    while first is not None and first.type == "comment":
        first = first.next_named_sibling
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return 0, ""
    string = first.named_child(0)
    if string.type not in ("string", "concatenated_string"):
        return 0, ""
    return string.end_point[0] + 1, first_sentence(string.text.decode("utf-8", "replace"))


def first_sentence(literal: str) -> str:
    """First sentence of a docstring literal's first paragraph, whitespace collapsed."""
    match = _STRING_PREFIX.match(literal)
    if match is None:
        return ""
    quote = match.group(1)
    body = literal[match.end():]
    body = body[: -len(quote)] if body.endswith(quote) else body
    paragraph = re.split(r"\n\s*\n", body.strip(), maxsplit=1)[0]
    text = " ".join(paragraph.split())
    for end in _SENTENCE_END.finditer(text):
        word = text[: end.start()].rpartition(" ")[2].lower()
        if word not in _ABBREVIATIONS:
            return text[: end.end()]
    return text


def _calls(callees: list[Node], scopes: list[tuple[int, int, str]], data: bytes) -> tuple:
    """Columns (callers, callee texts, lines); a caller is the innermost body holding the call.

    The hottest loop of the index (200k calls in the pinned tree): lines are counted
    incrementally from byte offsets and each distinct callee text is cleaned once per file.
    """
    callers: list[str] = []
    texts: list[str] = []
    lines: list[int] = []
    seen: dict[bytes, str] = {}
    stack: list[tuple[int, int, str]] = []
    i, n_scopes, line, prev = 0, len(scopes), 1, 0
    for node in sorted(callees, key=_span):
        pos, stop = node.byte_range
        while i < n_scopes and scopes[i][0] <= pos:
            while stack and stack[-1][1] <= scopes[i][0]:
                stack.pop()
            stack.append(scopes[i])
            i += 1
        while stack and stack[-1][1] <= pos:
            stack.pop()
        raw = data[pos:stop]
        text = seen.get(raw)
        if text is None:
            text = seen[raw] = _clean(raw)
        line += data.count(b"\n", prev, pos)
        prev = pos
        callers.append(stack[-1][2] if stack else "")
        texts.append(text)
        lines.append(line)
    return tuple(callers), tuple(texts), tuple(lines)


def _text(node: Node) -> str:
    """Source text of ``node`` on one line (see :func:`_clean`)."""
    return _clean(node.text)


def _clean(raw: bytes) -> str:
    """One-line, length-capped text of a node.

    Deliberately not ``sys.intern``-ed: marshal re-interns such strings on every load, which
    costs the warm load more than sharing them saves; repeats within a file are shared anyway
    (one object per distinct callee text, see :func:`_calls`), and marshal stores those once.
    """
    if b"\n" in raw or b"  " in raw or b"\t" in raw:
        raw = _SPACE.sub(b" ", raw)
    if len(raw) > _MAX_CALLEE:
        raw = raw[:_MAX_CALLEE]
    return raw.decode("utf-8", "replace")


def _imports(node: Node) -> list[tuple]:
    """Raw import records of one import statement (``import a, b`` gives two)."""
    line = node.start_point[0] + 1
    if node.type == "import_statement":
        out = []
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                target, alias = name.child_by_field_name("name"), name.child_by_field_name("alias")
                out.append((_text(target), (), 0, line, _text(alias)))
            else:
                out.append((_text(name), (), 0, line, None))
        return out
    if node.type == "future_import_statement":
        return [("__future__", tuple(_names(node)), 0, line, None)]
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return []
    module, level = _text(module_node), 0
    if module_node.type == "relative_import":
        dotted = [k for k in module_node.named_children if k.type == "dotted_name"]
        prefix = [k for k in module_node.named_children if k.type == "import_prefix"]
        level = len(_text(prefix[0])) if prefix else 0
        module = _text(dotted[0]) if dotted else ""
    names = _names(node)
    if any(k.type == "wildcard_import" for k in node.named_children):
        names.append(("*", None))
    return [(module, tuple(names), level, line, None)]


def _names(node: Node) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for name in node.children_by_field_name("name"):
        if name.type == "aliased_import":
            out.append((_text(name.child_by_field_name("name")),
                        _text(name.child_by_field_name("alias"))))
        else:
            out.append((_text(name), None))
    return out


def _attr_types(inits: list[tuple[str, Node]], query: Query) -> tuple:
    """What each ``Class.__init__`` says the class of ``self.attr`` is: (cls, attr, class expr, line).

    Three honest sources, strongest first: an annotation (``self.x: T = ...``), a constructor
    call (``self.x = T(...)``), an annotated parameter stored as is (``def __init__(self, p: T)``
    then ``self.x = p``). The first assignment of an attribute in the body decides.
    """
    out = []
    for cls, func in inits:
        params = _annotated_params(func)
        found: dict[str, tuple[int, int, str]] = {}  # attr → (strength, line, class text)
        for pattern, match in QueryCursor(query).matches(func.child_by_field_name("body")):
            if match["obj"][0].text != b"self":
                continue
            attr = match["attr"][0]
            if pattern == 0:
                strength, text = 1, _text(match["ctor"][0])
            elif pattern == 1:
                strength, text = 2, params.get(_text(match["param"][0]), "")
            else:
                strength, text = 0, _declared(_text(match["type"][0]))
            line = attr.start_point[0] + 1
            name = _text(attr)
            if text and (name not in found or (strength, line) < found[name][:2]):
                found[name] = (strength, line, text)
        out += [(cls, name, text, line) for name, (_, line, text) in found.items()]
    return tuple(sorted(out, key=lambda a: (a[3], a[1])))


def _annotated_params(func: Node) -> dict[str, str]:
    """Parameter name → declared class text, for ``p: T`` and ``p: T = default`` parameters."""
    params = func.child_by_field_name("parameters")
    out: dict[str, str] = {}
    for p in params.named_children if params is not None else ():
        if p.type in ("typed_parameter", "typed_default_parameter"):
            kind = p.child_by_field_name("type")
            name = p.child_by_field_name("name") or (p.named_children[0] if p.named_children else None)
            if kind is not None and name is not None and name.type == "identifier":
                out[_text(name)] = _declared(_text(kind))
    return out


def _declared(annotation: str) -> str:
    """The class an annotation declares, unwrapping quotes and ``Optional``/``| None``."""
    text = annotation.strip().strip("\"'")
    match = _OPTIONAL.match(text)
    if match:
        text = next(g for g in match.groups() if g).strip().strip("\"'")
    return text


def _errors(root: Node, query: Query) -> tuple[str, ...]:
    """``line:col: syntax error`` / ``line:col: missing X`` for each region tree-sitter recovered."""
    out = []
    for node in sorted(QueryCursor(query).captures(root).get("err", ()), key=_start_byte):
        row, col = node.start_point
        what = f"missing {node.type!r}" if node.is_missing else "syntax error"
        out.append(f"{row + 1}:{col + 1}: {what}")
    return tuple(out)
