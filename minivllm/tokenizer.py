"""Text ↔ token ids: a byte-level default, or the checkpoint's tokenizer.json.

Random test checkpoints have no tokenizer, so the default maps each UTF-8
byte to the token id of the same value; any real checkpoint that ships a
``tokenizer.json`` gets it through the ``tokenizers`` library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol


# upstream: vllm/tokenizers/protocol.py:13 — TokenizerLike
class Tokenizer(Protocol):
    """The few tokenizer operations the engine relies on."""

    eos_token_id: int | None
    bos_token_id: int | None

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text`` (special tokens added as the model expects)."""
        ...

    def decode(self, token_ids: list[int]) -> str:
        """Text for ``token_ids``, special tokens left out."""
        ...


class ByteTokenizer:
    """One token per UTF-8 byte: ids 0–255 are the bytes themselves.

    Ids the model has beyond 255, and its BOS/EOS ids, decode to nothing, so
    any sampled id can be rendered. Incomplete UTF-8 sequences decode to
    U+FFFD, which the incremental detokenizer uses to wait for more bytes.
    """

    def __init__(self, eos_token_id: int | None = None, bos_token_id: int | None = None) -> None:
        self.eos_token_id = eos_token_id
        self.bos_token_id = bos_token_id
        self._special = {t for t in (eos_token_id, bos_token_id) if t is not None}

    def encode(self, text: str) -> list[int]:
        """The UTF-8 bytes of ``text`` as ids."""
        return list(text.encode("utf-8"))

    def decode(self, token_ids: list[int]) -> str:
        """Bytes back to text; specials and ids above 255 are skipped."""
        data = bytes(t for t in token_ids if t < 256 and t not in self._special)
        return data.decode("utf-8", errors="replace")


class HFTokenizer:
    """A ``tokenizer.json`` loaded with the ``tokenizers`` library."""

    def __init__(self, path: Path, eos_token_id: int | None, bos_token_id: int | None) -> None:
        from tokenizers import Tokenizer as _RustTokenizer

        self._tok = _RustTokenizer.from_file(str(path))
        self.eos_token_id = eos_token_id
        self.bos_token_id = bos_token_id

    @property
    def backend(self) -> object:
        """The underlying ``tokenizers.Tokenizer`` (grammar backends read its vocabulary)."""
        return self._tok

    def encode(self, text: str) -> list[int]:
        """Ids with the tokenizer's own post-processing (BOS etc.)."""
        return list(self._tok.encode(text).ids)

    def decode(self, token_ids: list[int]) -> str:
        """Text with special tokens skipped."""
        return self._tok.decode(list(token_ids), skip_special_tokens=True)


def _first_id(value: object) -> int | None:
    """HF configs store EOS as an int or a list of ints; keep the first."""
    if isinstance(value, list):
        return int(value[0]) if value else None
    return None if value is None else int(value)


# upstream: vllm/tokenizers/registry.py:196 — get_tokenizer()
def load_tokenizer(model_dir: str | Path) -> Tokenizer:
    """The tokenizer for a checkpoint directory.

    BOS/EOS ids come from ``config.json`` (falling back to
    ``generation_config.json``) so that both tokenizers agree with the model
    on when generation ends.
    """
    root = Path(model_dir)
    ids: dict[str, object] = {}
    for name in ("generation_config.json", "config.json"):
        path = root / name
        if path.is_file():
            data = json.loads(path.read_text())
            ids.update({k: data[k] for k in ("eos_token_id", "bos_token_id") if k in data})
    eos, bos = _first_id(ids.get("eos_token_id")), _first_id(ids.get("bos_token_id"))
    if (root / "tokenizer.json").is_file():
        return HFTokenizer(root / "tokenizer.json", eos, bos)
    return ByteTokenizer(eos, bos)
