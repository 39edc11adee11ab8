"""Tests for annotator.render.site_model: which pages exist and what each one is given."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from annotator import config as config_mod
from annotator.index import open_index
from annotator.render.model import PageInfo
from annotator.render.nav import HOME, PAIRS, SOURCES, Linker, pair_uri, source_uri
from annotator.render.site_model import SiteModel

FIXTURE = Path(__file__).parent / "fixtures" / "render_project"
PAGES = {
    "phase-01-pool/index.md": PageInfo("phase-01-pool/index.md", "Phase 01 — The pool", "phase-01-pool"),
    "phase-02-engine/index.md": PageInfo("phase-02-engine/index.md", "Phase 02 — The engine", "phase-02-engine"),
}


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """The fixture project's settings, in a private copy with its own cache."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    loaded = config_mod.load(root)
    return dataclasses.replace(loaded, cache_dir=tmp_path_factory.mktemp("cache"))


def _model(settings, extra: dict[str, str] | None = None) -> SiteModel:
    markdown = {uri: (settings.root / "annotations" / uri).read_text() for uri in PAGES}
    pages = dict(PAGES)
    for uri, text in (extra or {}).items():
        markdown[uri] = text
        pages[uri] = PageInfo(uri, uri, uri.split("/")[0])
    index = open_index(settings.upstream_dir, settings.cache_dir)
    return SiteModel(settings, index, pages, markdown, {}, "annotations")


@pytest.fixture(scope="module")
def model(settings):
    """The model of the fixture project as it is."""
    return _model(settings)


def test_source_pages_are_exactly_the_cited_files(model):
    """Every cited file (by the notes or by minivllm) gets a source page; nothing else does."""
    assert model.source_paths == [
        "README.md",
        "pkg/core/block_pool.py",
        "pkg/core/long.py",
        "pkg/core/utils.py",
        "pkg/engine.py",
    ]
    assert model.broken == []


def test_extra_source_dirs_add_whole_subsystems(settings):
    """A configured subsystem adds every Python file under it, cited or not."""
    site = dataclasses.replace(settings.site, extra_source_dirs=("pkg/core",))
    model = _model(dataclasses.replace(settings, site=site))
    assert "pkg/core/__init__.py" in model.source_paths


def test_notes_combine_annotation_sentences_and_minivllm_twins(model):
    """A cited line's notes link back to the citing page's anchor and to the minivllm pair."""
    notes = [n for n in model.notes("pkg/core/block_pool.py") if n.line == 14]
    assert {(n.uri, n.fragment) for n in notes} == {
        ("phase-01-pool/index.md", "cite-0"),
        (pair_uri("mini/block_pool.py", "BlockPool.get_new_blocks"), ""),
    }


def test_pairs_and_their_phases(model):
    """Each minivllm definition with an anchor comment has a page; pairs know the phases citing them."""
    assert set(model.pair_pages()) == {
        pair_uri("mini/block_pool.py", "BlockPool"),
        pair_uri("mini/block_pool.py", "BlockPool.get_new_blocks"),
    }
    groups = {p.mini.qualname: g for p, g in model.pair_groups().items()}
    assert groups == {"BlockPool": ["phase-01-pool"], "BlockPool.get_new_blocks": ["phase-01-pool"]}
    assert model.group_titles()["phase-02-engine"] == "Phase 02 — The engine"


def test_broken_anchors_are_reported_not_dropped(settings):
    """A page citing a missing file makes the model report that citation as broken."""
    model = _model(settings, {"phase-03-x/index.md": "# X\n\nSee `pkg/gone.py:2 — f()`.\n"})
    (broken,) = model.broken
    assert broken.finding.status == "missing-file" and broken.origin == "phase-03-x/index.md"
    assert broken.finding.anchor.doc == "annotations/phase-03-x/index.md"


def test_generated_pages_render_with_links(model):
    """Every generated page renders; a source page carries its notes and links back."""
    pages = model.generated("Toy", with_home=True)
    assert {HOME, PAIRS, SOURCES, source_uri("pkg/engine.py")} <= set(pages)
    assert HOME not in model.generated("Toy", with_home=False)
    urls = {uri: uri.removesuffix(".md").removesuffix("index") + "/" for uri in [*pages, *PAGES]}
    uri = source_uri("pkg/core/block_pool.py")
    html = pages[uri].render(Linker(urls[uri], urls))
    assert 'id="L14"' in html and "phase-01-pool/#cite-0" in html
    assert "Pops blocks from the head of the free list." in html
