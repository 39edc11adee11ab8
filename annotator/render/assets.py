"""The site's one stylesheet, served as ``assets/annotate.css``.

Kept as a Python string so the plugin works from any install (no package-data plumbing).
Colours come from mkdocs-material's custom properties, so light and dark palettes both work;
highlighting is CSS only (``tr.hl`` for cited lines, ``:target`` for the line in the URL).
"""

CSS = """
.md-main__inner:has(.annotate-src) { max-width: none; }
.annotate-path { font-size: 1.3rem; word-break: break-all; }
.annotate-meta { color: var(--md-default-fg-color--light); font-size: .7rem; }
.annotate-summary { font-style: italic; }
.annotate-src { overflow-x: auto; margin: .6em 0 1.2em; }
.md-typeset table.annotate-code {
  display: table; width: 100%; table-layout: fixed; border-collapse: collapse; border: 0;
  font-family: var(--md-code-font-family); font-size: .68rem; line-height: 1.45;
  background: var(--md-code-bg-color); color: var(--md-code-fg-color);
}
.annotate-code col.ln { width: 4.2em; }
.annotate-code col.an { width: 38%; }
.md-typeset .annotate-code td { padding: 0 .5em; border: 0; vertical-align: top; }
.md-typeset .annotate-code td.lc { white-space: pre-wrap; overflow-wrap: anywhere; }
.md-typeset .annotate-code td.ln {
  text-align: right; user-select: none; padding-right: .8em;
  color: var(--md-default-fg-color--light);
}
.md-typeset .annotate-code td.ln a { color: inherit; }
.annotate-code tr[id] { scroll-margin-top: 6rem; }
.annotate-code tr.hl > td.lc, .annotate-code tr.hl > td.ln {
  background: var(--md-code-hl-color--light);
}
.annotate-code tr.hl > td.ln { box-shadow: inset 3px 0 var(--md-code-hl-color); }
.annotate-code tr:target > td.lc, .annotate-code tr:target > td.ln {
  background: var(--annotate-target-bg);
}
.annotate-code tr:target > td.ln { box-shadow: inset 4px 0 var(--annotate-target-edge); }
:root { --annotate-target-bg: rgba(255, 196, 0, .35); --annotate-target-edge: #e0a800; }
[data-md-color-scheme="slate"] {
  --annotate-target-bg: rgba(255, 196, 0, .22); --annotate-target-edge: #ffc400;
}
.md-typeset .annotate-code td.an {
  font-family: var(--md-text-font-family); font-size: .62rem; line-height: 1.35;
  white-space: normal; background: var(--md-default-bg-color); padding: .15em .6em;
}
.annotate-note {
  border-left: 3px solid var(--md-accent-fg-color); padding: .1em .5em; margin: 0 0 .35em;
  background: var(--md-default-fg-color--lightest);
}
.annotate-note-head { display: block; font-weight: 700; }
.annotate-note-text { display: block; }
.annotate-where { color: var(--md-default-fg-color--light); font-weight: 400; font-size: .9em; }
.md-typeset .annotate-status {
  display: inline-block; margin-left: .3em; padding: 0 .35em; border-radius: .2em;
  background: #c62828; color: #fff; font-family: var(--md-text-font-family);
  font-size: .6rem; font-weight: 700; vertical-align: middle;
}
.md-typeset .annotate-broken { text-decoration: underline wavy #c62828; }
.md-typeset .annotate-cite { scroll-margin-top: 6rem; }
.md-typeset .annotate-cite:target { outline: 3px solid var(--annotate-target-edge); }
.annotate-outline { list-style: none; margin-left: 0 !important; font-size: .68rem; }
.md-typeset .annotate-outline li { margin: 0 0 .1em; }
.annotate-outline li.d1 { margin-left: 1.4em !important; }
.annotate-outline li.d2 { margin-left: 2.8em !important; }
.annotate-outline li.d3, .annotate-outline li.d4 { margin-left: 4.2em !important; }
.annotate-kind { color: var(--md-default-fg-color--light); }
.annotate-count {
  margin-left: .4em; padding: 0 .3em; border-radius: .2em;
  background: var(--md-code-hl-color--light); font-size: .9em;
}
.annotate-callers { color: var(--md-default-fg-color--light); margin-left: 1.4em; }
.annotate-facts { font-size: .7rem; }
.annotate-pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; align-items: start; }
.annotate-col { min-width: 0; }
.annotate-col h3 { margin-top: .4em; font-size: .8rem; word-break: break-all; }
@media (max-width: 60em) {
  .annotate-pair { grid-template-columns: 1fr; }
  .annotate-code col.an { width: 45%; }
}
.md-typeset .annotate-notes { font-size: .7rem; }
.md-typeset table.annotate-table { display: table; font-size: .7rem; border-collapse: collapse; }
.md-typeset .annotate-table th, .md-typeset .annotate-table td {
  padding: .25em .8em; border-bottom: 1px solid var(--md-default-fg-color--lightest);
  text-align: left;
}
"""
