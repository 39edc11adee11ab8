"""``annotate pin-page``: regenerate UPSTREAM_PIN.md from the pin file."""

from __future__ import annotations

from annotator import atomic, pin
from annotator.commands.output import stdout
from annotator.config import Config


def run(config: Config, check: bool = False) -> int:
    """Write the page, or with ``check`` only report (exit 1) whether it is stale."""
    text = pin.render_page(pin.read(config.pin_file), config.pin_file.name)
    current = config.pin_page.read_text("utf-8") if config.pin_page.exists() else None
    if check:
        if current != text:
            stdout().print(f"{config.pin_page.name} is stale; run: annotate pin-page")
            return 1
        return 0
    if current != text:
        atomic.write_text(config.pin_page, text)
    stdout().print(f"wrote {config.pin_page.name}")
    return 0
