"""Tests for annotator.render.nav: page names, relative links, the navigation."""

from __future__ import annotations

from mkdocs.structure.files import File

from annotator.render.model import PageInfo
from annotator.render.nav import HOME, MAP, Linker, build_nav, pair_uri, source_uri


def _url(uri: str, directory_urls: bool = True) -> str:
    return File(uri, src_dir=None, dest_dir="", use_directory_urls=directory_urls).url


def test_source_pages_never_collide_with_directory_indexes():
    """A cited file named like an index page gets its own page, not its directory's index."""
    assert source_uri("vllm/v1/core/block_pool.py") == "source/vllm/v1/core/block_pool.py.md"
    assert _url(source_uri("docs/README")) != _url("source/docs/index.md")
    assert _url(source_uri("a/index")) != _url("source/a/index.md")
    assert _url(source_uri("README.md")) == "source/README.md/"


def test_pair_pages_are_named_by_file_and_qualname():
    """Each minivllm definition has its own page under pairs/."""
    assert pair_uri("minivllm/core/block_pool.py", "BlockPool.get_new_blocks") == (
        "pairs/minivllm/core/block_pool.py/BlockPool.get_new_blocks.md"
    )


def test_linker_gives_relative_hrefs_with_fragments():
    """hrefs are relative to the page being written and carry #L fragments."""
    uris = ["phase-01/index.md", source_uri("pkg/a.py"), HOME]
    for directory_urls in (True, False):
        urls = {u: _url(u, directory_urls) for u in uris}
        link = Linker(urls["phase-01/index.md"], urls)
        href = link.href(source_uri("pkg/a.py"), "L12")
        expected = "../source/pkg/a.py/#L12" if directory_urls else "../source/pkg/a.py.html#L12"
        assert href == expected
        assert link.href("missing.md") is None


def test_nav_groups_pages_by_phase_with_the_index_first():
    """Each phase directory is one section titled by its index page, index first."""
    pages = [
        PageInfo("phase-02-b/deep.md", "Deep", "phase-02-b"),
        PageInfo("phase-02-b/index.md", "Phase 02", "phase-02-b"),
        PageInfo("phase-01-a/index.md", "Phase 01", "phase-01-a"),
        PageInfo("labs.md", "Labs", ""),
        PageInfo("misc/notes.md", "Notes", "misc"),
    ]
    nav = build_nav(pages, {"Map": MAP})
    assert nav == [
        {"Home": HOME},
        {"Labs": "labs.md"},
        {"Misc": ["misc/notes.md"]},
        {"Phase 01": ["phase-01-a/index.md"]},
        {"Phase 02": ["phase-02-b/index.md", "phase-02-b/deep.md"]},
        {"Map": MAP},
    ]
