"""The site of a repository that has no mkdocs.yml: its markdown and the source pages, built in.

A course kept as an mdBook (or plain markdown) should not need to learn mkdocs to browse its
notes beside the cited code. The configured documents are copied into a mirror beside the build
(mkdocs refuses a docs directory that contains its output), with their project-relative paths,
and a small generated mkdocs.yml points the annotate plugin back at the real project.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from annotator.config import Config


def write_builtin(config: Config, workdir: Path) -> Path:
    """Mirror the markdown documents into ``workdir/docs`` and write ``workdir/mkdocs.yml``."""
    docs = workdir / "docs"
    docs.mkdir()
    for path in config.doc_paths():
        if path.suffix != ".md":
            continue
        target = docs / path.relative_to(config.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    yml = workdir / "mkdocs.yml"
    yml.write_text(render_yaml(config), "utf-8")
    return yml


def render_yaml(config: Config) -> str:
    """The generated configuration; JSON strings are valid YAML scalars, so paths need no quoting rules."""
    name = json.dumps(f"{config.root.name}, annotated")
    root = json.dumps(str(config.root))
    return (
        f"site_name: {name}\n"
        "docs_dir: docs\n"
        "use_directory_urls: false\n"
        "theme:\n  name: material\n  font: false\n"
        "plugins:\n  - search\n  - annotate:\n"
        f"      project_root: {root}\n"
        '      docs_prefix: ""\n'
        "markdown_extensions:\n  - admonition\n  - tables\n  - toc:\n      permalink: true\n"
    )
