"""The xgrammar backend: compile constraints to token-level matchers.

xgrammar precomputes, per grammar state, which vocabulary entries can be
consumed (a token may span several grammar symbols), so a step's mask costs
microseconds. It needs each token id's bytes: ``tokenizer_info`` provides
them for both of our tokenizers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import xgrammar as xgr

from minivllm.structured_output.backend_types import (
    StructuredOutputBackend,
    StructuredOutputGrammar,
    StructuredOutputOptions,
)
from minivllm.structured_output.utf8 import exclude_surrogates
from minivllm.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer

_LAX_BOUNDED_CHAR = r"[^\"\\\r\n]"
_STRICT_BOUNDED_CHAR = r"[^\0-\x1f\"\\]"


def tokenizer_info(tokenizer: Tokenizer, vocab_size: int) -> xgr.TokenizerInfo:
    """The bytes of every token id, and which ids stop generation.

    Ids the tokenizer does not produce (the model's padding rows, BOS/EOS of
    the byte tokenizer) get an empty byte string, which xgrammar treats as
    special: never allowed by a grammar, except as the stop token.

    Raises:
        TypeError: For a tokenizer of another kind.
    """
    stop = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else None
    if isinstance(tokenizer, ByteTokenizer):
        special = {tokenizer.eos_token_id, tokenizer.bos_token_id}
        vocab = [bytes([i]) if i < 256 and i not in special else b"" for i in range(vocab_size)]
        return xgr.TokenizerInfo(vocab, vocab_type=xgr.VocabType.RAW, vocab_size=vocab_size, stop_token_ids=stop)
    if isinstance(tokenizer, HFTokenizer):
        from transformers import PreTrainedTokenizerFast

        wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend)
        return xgr.TokenizerInfo.from_huggingface(wrapped, vocab_size=vocab_size, stop_token_ids=stop)
    raise TypeError(f"structured output needs a ByteTokenizer or HFTokenizer, got {type(tokenizer).__name__}")


def json_schema_grammar(schema: str, any_whitespace: bool) -> str:
    """EBNF for a JSON schema, with strings that strict JSON parsers accept.

    xgrammar 0.2.8 writes length-bounded strings (``maxLength``) with a
    character class that admits raw control characters, which RFC 8259 §7
    forbids inside strings; such output fails ``json.loads``. The class is
    narrowed here (escapes stay unavailable inside bounded strings, as before).
    """
    text = str(xgr.Grammar.from_json_schema(schema, any_whitespace=any_whitespace))
    return text.replace(_LAX_BOUNDED_CHAR, _STRICT_BOUNDED_CHAR)


def choice_grammar(choices: Sequence[str]) -> str:
    """EBNF accepting exactly one of the strings."""
    if not choices:
        raise ValueError("choice needs at least one option")
    return "root ::= " + " | ".join(json.dumps(c, ensure_ascii=False) for c in choices)


# upstream: vllm/v1/structured_output/backend_xgrammar.py:35 — XgrammarBackend
class XgrammarBackend(StructuredOutputBackend):
    """Compiles constraints for one tokenizer; compiled grammars are cached.

    Args:
        tokenizer: The engine's tokenizer.
        vocab_size: The model's vocabulary size (may exceed the tokenizer's).
        any_whitespace: Allow free whitespace between JSON tokens. Off by
            default: a weak or random model may otherwise wander in
            whitespace until it runs out of tokens.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab_size: int,
        any_whitespace: bool = False,
    ) -> None:
        self.vocab_size = vocab_size
        self.any_whitespace = any_whitespace
        self.compiler = xgr.GrammarCompiler(tokenizer_info(tokenizer, vocab_size), max_threads=1)

    # upstream: vllm/v1/structured_output/backend_xgrammar.py:77 — XgrammarBackend.compile_grammar()
    def compile_grammar(self, kind: StructuredOutputOptions, spec: str) -> StructuredOutputGrammar:
        """A matcher for ``spec``.

        Raises:
            ValueError: When xgrammar cannot parse the schema, regex or grammar.
        """
        try:
            ctx = self._compile(kind, spec)
        except RuntimeError as exc:
            raise ValueError(f"invalid {kind.name.lower()} constraint: {exc}") from exc
        # Matchers can roll back any number of tokens (xgrammar >= 0.2), which
        # speculative decoding needs; no limit has to be configured.
        matcher = xgr.GrammarMatcher(ctx)
        return XgrammarGrammar(self.vocab_size, matcher)

    def _compile(self, kind: StructuredOutputOptions, spec: str) -> xgr.CompiledGrammar:
        """Every kind goes through EBNF text, so that one UTF-8 fix covers them all."""
        if kind is StructuredOutputOptions.JSON:
            ebnf = json_schema_grammar(spec, self.any_whitespace)
        elif kind is StructuredOutputOptions.JSON_OBJECT:
            ebnf = json_schema_grammar('{"type": "object"}', self.any_whitespace)
        elif kind is StructuredOutputOptions.REGEX:
            ebnf = str(xgr.Grammar.from_regex(spec))
        elif kind is StructuredOutputOptions.CHOICE:
            ebnf = choice_grammar(json.loads(spec))
        else:
            ebnf = str(xgr.Grammar.from_ebnf(spec))
        return self.compiler.compile_grammar(exclude_surrogates(ebnf))

    # upstream: vllm/v1/structured_output/backend_xgrammar.py:124 — XgrammarBackend.allocate_token_bitmask()
    def allocate_token_bitmask(self, rows: int) -> torch.Tensor:
        """``[rows, ceil(V / 32)]`` int32, every bit set."""
        return xgr.allocate_token_bitmask(rows, self.vocab_size)


# upstream: vllm/v1/structured_output/backend_xgrammar.py:132 — XgrammarGrammar
@dataclass
class XgrammarGrammar(StructuredOutputGrammar):
    """An xgrammar matcher plus the bookkeeping the engine needs."""

    vocab_size: int
    matcher: xgr.GrammarMatcher = field(repr=False)
    num_processed_tokens: int = 0
    _terminated: bool = False

    # upstream: vllm/v1/structured_output/backend_xgrammar.py:148 — XgrammarGrammar.accept_tokens()
    def accept_tokens(self, request_id: str, tokens: Sequence[int]) -> bool:
        """Advance token by token; stop at the first one the grammar refuses."""
        if self._terminated:
            return False
        for token in tokens:
            if not self.matcher.accept_token(token):
                return False
            self.num_processed_tokens += 1
        self._terminated = self.matcher.is_terminated()
        return True

    # upstream: vllm/v1/structured_output/backend_xgrammar.py:169 — XgrammarGrammar.validate_tokens()
    def validate_tokens(self, tokens: Sequence[int]) -> list[int]:
        """Try the tokens, then step back: the matcher ends where it started."""
        accepted: list[int] = []
        for token in tokens:
            if not self.matcher.accept_token(token):
                break
            accepted.append(token)
        if accepted:
            self.matcher.rollback(len(accepted))
        return accepted

    # upstream: vllm/v1/structured_output/backend_xgrammar.py:186 — XgrammarGrammar.rollback()
    def rollback(self, num_tokens: int) -> None:
        """Undo accepted tokens (drafts that were rejected)."""
        self.matcher.rollback(num_tokens)
        self.num_processed_tokens -= num_tokens
        self._terminated = self.matcher.is_terminated()

    def fill_bitmask(self, bitmask: torch.Tensor, index: int) -> None:
        """Write the allowed next tokens into row ``index``."""
        self.matcher.fill_next_token_bitmask(bitmask, index)

    def is_terminated(self) -> bool:
        """Whether the stop token was accepted."""
        return self._terminated
