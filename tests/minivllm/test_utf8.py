"""Grammar rewriting that keeps xgrammar's character classes inside valid UTF-8."""

from __future__ import annotations

import pytest

from minivllm.structured_output.utf8 import exclude_surrogates


@pytest.mark.parametrize(
    ("ebnf", "expected"),
    [
        # A negated class also excludes the surrogate block.
        ('root ::= [^a]', r'root ::= [^\u0061\ud800-\udfff]'),
        # A positive range across the block is split around it.
        (r'root ::= [\0-\U0010ffff]', r'root ::= [\u0000-\ud7ff\ue000-\U0010ffff]'),
        # Ranges below or above the block are only re-spelled.
        ('root ::= [a-z0]', r'root ::= [\u0061-\u007a\u0030]'),
        # Escapes inside a class, including an escaped bracket and quote.
        (r'root ::= [^\"\\\]\x1f]', r'root ::= [^\u0022\u005c\u005d\u001f\ud800-\udfff]'),
        # String literals (and Regex nodes inside them) are left alone.
        ('root ::= "[^x" Regex("[^y]")', 'root ::= "[^x" Regex("[^y]")'),
        (r'root ::= "a\"[" [b]', r'root ::= "a\"[" [\u0062]'),
    ],
)
def test_classes_lose_the_surrogate_block(ebnf: str, expected: str) -> None:
    """Every class is rewritten so that no surrogate code point can match; literals are untouched."""
    assert exclude_surrogates(ebnf) == expected


def test_rewritten_grammar_refuses_surrogate_bytes() -> None:
    """xgrammar then refuses ED A0..BF (a surrogate) but still takes U+D7FF and U+E000."""
    import xgrammar as xgr

    from minivllm.structured_output.backend_xgrammar import tokenizer_info
    from minivllm.tokenizer import ByteTokenizer

    compiler = xgr.GrammarCompiler(tokenizer_info(ByteTokenizer(eos_token_id=2), 320))
    compiled = compiler.compile_grammar(exclude_surrogates(str(xgr.Grammar.from_regex("."))))

    def accepts(data: bytes) -> bool:
        matcher = xgr.GrammarMatcher(compiled)
        return all(matcher.accept_token(b) for b in data)

    assert not accepts(b"\xed\xa0\x82")
    assert accepts("\ud7ff".encode()) and accepts("\ue000".encode()) and accepts("é".encode())
