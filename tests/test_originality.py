"""Our prose is our own: no run of ten words is shared with upstream's comments, docstrings or docs.

The rule "no vLLM sentences in this repo" is easy to break by accident while reading the code
closely; this turns it into a check. Code identifiers are allowed to match (only prose is compared).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = 10  # words; short enough to catch a copied clause, long enough to ignore shared jargon
_WORD = re.compile(r"[a-z0-9_]+")


def _prose(path: Path) -> str:
    """Markdown as is; for Python only comments and triple-quoted strings."""
    text = path.read_text("utf-8", "ignore")
    if path.suffix != ".py":
        return text
    parts = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT or (
                tok.type == tokenize.STRING and tok.string.lstrip("rbuRBU")[:3] in ('"""', "'''")
            ):
                parts.append(tok.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return "\n".join(parts)


def _runs(text: str) -> set[int]:
    words = _WORD.findall(text.lower())
    return {hash(tuple(words[i : i + RUN])) for i in range(len(words) - RUN + 1)}


def _ours() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "annotations").rglob("*.md"))]
    files += sorted((ROOT / "minivllm").rglob("*.py")) + sorted((ROOT / "annotations").rglob("*.py"))
    return files


@pytest.mark.upstream
def test_no_ten_word_run_is_shared_with_upstream_prose(upstream_tree: Path):
    """No annotation, README, lab or minivllm comment repeats ten consecutive words of upstream prose."""
    theirs: set[int] = set()
    for path in upstream_tree.rglob("*"):
        if path.suffix in (".py", ".md") and path.is_file():
            theirs |= _runs(_prose(path))
    shared = [str(p.relative_to(ROOT)) for p in _ours() if _runs(_prose(p)) & theirs]
    assert not shared, f"rewrite in our own words: {shared}"
