"""Tests for minivllm.tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

from minivllm.tokenizer import ByteTokenizer, HFTokenizer, load_tokenizer


def test_byte_roundtrip_including_multibyte() -> None:
    """Encoding then decoding returns the text, multi-byte characters included."""
    tok = ByteTokenizer()
    text = "héllo ✓ 世界"
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode("A") == [65]


def test_byte_decode_skips_specials_and_out_of_range() -> None:
    """EOS/BOS ids and ids above 255 decode to nothing."""
    tok = ByteTokenizer(eos_token_id=2, bos_token_id=1)
    assert tok.decode([1, 72, 2, 300, 105]) == "Hi"


def test_load_byte_default_reads_eos_from_config(tmp_path: Path) -> None:
    """Without tokenizer.json the byte tokenizer is used, EOS taken from config.json."""
    (tmp_path / "config.json").write_text(json.dumps({"eos_token_id": [7, 8], "bos_token_id": 1}))
    tok = load_tokenizer(tmp_path)
    assert isinstance(tok, ByteTokenizer)
    assert tok.eos_token_id == 7 and tok.bos_token_id == 1


def test_load_tokenizer_json_when_present(tmp_path: Path) -> None:
    """A checkpoint's tokenizer.json is loaded with the tokenizers library."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "hello": 1, "world": 2, "</s>": 3}
    rust = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    rust.pre_tokenizer = pre_tokenizers.Whitespace()
    rust.add_special_tokens(["</s>"])
    rust.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "config.json").write_text(json.dumps({"eos_token_id": 3}))
    tok = load_tokenizer(tmp_path)
    assert isinstance(tok, HFTokenizer)
    assert tok.encode("hello world") == [1, 2]
    assert tok.decode([1, 3, 2]) == "hello world"
    assert tok.eos_token_id == 3
