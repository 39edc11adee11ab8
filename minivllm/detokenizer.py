"""Turn a growing list of output token ids into text, a few tokens at a time.

Decoding the whole output every step would make a long generation quadratic;
decoding one token alone breaks multi-byte characters and tokenizers whose
pieces depend on their left neighbour. The middle road: decode a short window
that ends at the new tokens, and emit only what the window adds beyond its
already-emitted part.
"""

from __future__ import annotations

from collections.abc import Sequence

from minivllm.tokenizer import Tokenizer

REPLACEMENT_CHAR = "\ufffd"


# upstream: vllm/v1/engine/detokenizer.py:30 — IncrementalDetokenizer
class IncrementalDetokenizer:
    """Per-request text state.

    ``prefix_offset..read_offset`` is the window of tokens already turned
    into text and kept as left context; ``read_offset..`` are the tokens not
    yet emitted (for instance the first bytes of a multi-byte character).
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.token_ids: list[int] = []
        self.output_text = ""
        self.prefix_offset = 0
        self.read_offset = 0

    # upstream: vllm/v1/engine/detokenizer.py:95 — BaseIncrementalDetokenizer.update()
    def update(self, new_token_ids: Sequence[int]) -> str:
        """Add tokens; return the text they complete (possibly empty)."""
        self.token_ids.extend(new_token_ids)
        return self._emit(final=False)

    def flush(self) -> str:
        """Emit whatever is pending, even an incomplete character (at finish)."""
        return self._emit(final=True)

    def _emit(self, final: bool) -> str:
        decode = self.tokenizer.decode
        seen = decode(self.token_ids[self.prefix_offset : self.read_offset])
        full = decode(self.token_ids[self.prefix_offset :])
        if len(full) <= len(seen) or (full.endswith(REPLACEMENT_CHAR) and not final):
            return ""
        new_text = full[len(seen) :]
        self.prefix_offset = self.read_offset
        self.read_offset = len(self.token_ids)
        self.output_text += new_text
        return new_text

    def truncate_at_stop(
        self, new_char_count: int, stop: Sequence[str], include_stop: bool
    ) -> str | None:
        """End the text at the first stop string the newest characters complete.

        Returns:
            The matched stop string, or None if none matched.
        """
        match = check_stop_strings(self.output_text, new_char_count, stop, include_stop)
        if match is None:
            return None
        stop_str, cut = match
        self.output_text = self.output_text[:cut]
        return stop_str


# upstream: vllm/v1/engine/detokenizer.py:309 — check_stop_strings()
def check_stop_strings(
    text: str, new_char_count: int, stop: Sequence[str], include_stop: bool
) -> tuple[str, int] | None:
    """Find a stop string that ends inside the last ``new_char_count`` chars.

    Only the tail is searched (the new characters plus room for a stop string
    that started earlier), so the check costs O(new text), not O(all text).

    Returns:
        ``(stop_string, cut)`` where ``text[:cut]`` is the text to keep, or
        None when nothing matched.
    """
    if new_char_count <= 0:
        return None
    best: tuple[int, str] | None = None
    for stop_str in stop:
        start = max(0, len(text) - new_char_count - len(stop_str) + 1)
        index = text.find(stop_str, start)
        if index != -1 and (best is None or index < best[0]):
            best = (index, stop_str)
    if best is None:
        return None
    index, stop_str = best
    return stop_str, index + len(stop_str) if include_stop else index
