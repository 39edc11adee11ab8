"""Tests for annotator.render.pair_pages: two aligned columns, both sets of notes, index by phase."""

from __future__ import annotations

from annotator.anchors import scan_text
from annotator.records import Finding
from annotator.render.model import Citation, CodeSpan, Note, Pair
from annotator.render.nav import PAIRS, Linker, pair_uri, source_uri
from annotator.render.pair_pages import render_pair_page, render_pairs_index


def _pair(mini_q: str, up_q: str, up_start: int = 14) -> Pair:
    (a,) = scan_text(f"# upstream: pkg/a.py:{up_start} — {up_q}", "mini/m.py", python=True)
    finding = Finding(a, "pkg/a.py", up_start, None, "def", "ok", "ok", None)
    return Pair(
        CodeSpan("mini/m.py", mini_q, 10, 12, "Take ``n`` <blocks>."),
        CodeSpan("pkg/a.py", up_q, up_start, up_start + 2),
        Citation("mini/m.py", 0, finding, ""),
    )


def _urls(*pairs: Pair) -> dict[str, str]:
    urls = {source_uri("pkg/a.py"): "source/pkg/a.py/", PAIRS: "pairs/", "p1/index.md": "p1/"}
    for p in pairs:
        urls[pair_uri(p.mini.path, p.mini.qualname)] = f"pairs/{p.mini.path}/{p.mini.qualname}/"
    return urls


def test_pair_page_has_two_columns_starting_at_their_definitions():
    """Upstream and minivllm code sit in two columns, rows numbered from each span's start."""
    pair = _pair("Pool.take", "BlockPool.get_new_blocks")
    urls = _urls(pair)
    link = Linker(urls[pair_uri("mini/m.py", "Pool.take")], urls)
    up_note = Note(15, 15, "Phase 01", "p1/index.md", "cite-3", "pops blocks", "f()")
    mini_note = Note(10, 10, "cites upstream", source_uri("pkg/a.py"), "L14", "`anchor`", "")
    html = render_pair_page(
        [pair],
        lambda s: [f"up{i}" for i in range(s.start, s.end + 1)],
        lambda s: [f"mini{i}" for i in range(s.start, s.end + 1)],
        lambda s: [up_note],
        lambda s: [mini_note],
        link,
    )
    assert html.count('class="annotate-col annotate-upstream"') == 1
    assert html.count('class="annotate-col annotate-minivllm"') == 1
    assert html.index("annotate-upstream") < html.index("annotate-minivllm")
    assert 'id="u1-L14"' in html and 'id="m1-L10"' in html
    assert 'href="../../../../p1/#cite-3"' in html  # upstream note links back to the phase
    assert 'href="../../../../source/pkg/a.py/#L14"' in html  # column heading → source page
    assert "<code>n</code> &lt;blocks&gt;" in html  # summary rendered, escaped


def test_pairs_index_groups_by_phase_then_others():
    """Each pair is listed under the phases citing its upstream side; uncited pairs come last."""
    cited, other = _pair("Pool.take", "BlockPool.get_new_blocks"), _pair("Pool", "BlockPool", 8)
    urls = _urls(cited, other)
    html = render_pairs_index(
        [cited, other], {cited: ["phase-01-a"], other: []}, {"phase-01-a": "Phase 01 — A"}, Linker("pairs/", urls)
    )
    assert html.index("Phase 01 — A") < html.index("Pool.take") < html.index("Not cited by a phase")
    assert html.index("Not cited by a phase") < html.index(">Pool<")
    assert 'href="minivllm/m.py/Pool.take/"' not in html  # links go through the pair's own path
    assert 'href="mini/m.py/Pool.take/"' in html
