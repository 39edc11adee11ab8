"""The annotated-source website, rendered as an mkdocs plugin (:mod:`annotator.render.plugin`).

Data flows one way. :mod:`.collect` scans and resolves every anchor (the same scanner and
resolver as ``annotate verify``); :mod:`.pairs` pairs minivllm definitions with their upstream
twins; :mod:`.graph_facts` slices the import and call graphs; :mod:`.site_model` decides which
pages exist. The page modules — :mod:`.source_page`, :mod:`.pair_pages`, :mod:`.index_pages`,
:mod:`.annotation_links` — turn those records into escaped HTML, with :mod:`.highlight` (and its
cache, :mod:`.highlight_cache`) for code, :mod:`.safe_markdown` keeping annotation markdown
from injecting markup, :mod:`.nav` naming and linking pages, and :mod:`.assets` the stylesheet.
"""
