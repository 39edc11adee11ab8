"""Structured output: grammar masks keep outputs inside JSON schemas and regexes."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from minivllm import LLM, SamplingParams, StructuredOutputsParams
from minivllm.structured_output.backend_types import StructuredOutputOptions as Opt
from minivllm.structured_output.backend_xgrammar import XgrammarBackend
from minivllm.structured_output.manager import StructuredOutputManager
from minivllm.structured_output.request import (
    StructuredOutputRequest,
    get_structured_output_key,
)
from minivllm.structured_output.utils import apply_grammar_bitmask, unpack_bitmask
from minivllm.tokenizer import ByteTokenizer

VOCAB = 320
EOS = 2


@pytest.fixture(scope="module")
def byte_backend() -> XgrammarBackend:
    """xgrammar over the byte tokenizer of the tiny test model (ids >= 256 unused)."""
    return XgrammarBackend(ByteTokenizer(eos_token_id=EOS, bos_token_id=1), VOCAB)


def _allowed(grammar, backend: XgrammarBackend) -> list[int]:
    mask = backend.allocate_token_bitmask(1)
    grammar.fill_bitmask(mask, 0)
    return unpack_bitmask(mask, VOCAB)[0].nonzero().flatten().tolist()


def _feed(grammar, text: bytes) -> bool:
    return grammar.accept_tokens("r", list(text))


def test_special_and_unused_ids_are_never_allowed(byte_backend: XgrammarBackend) -> None:
    """BOS, ids past the byte range, and EOS before the end are masked out."""
    g = byte_backend.compile_grammar(Opt.REGEX, "[a-z]{1,3}")
    first = _allowed(g, byte_backend)
    assert first == list(range(ord("a"), ord("z") + 1))
    assert _feed(g, b"ab")
    assert EOS in _allowed(g, byte_backend)


def test_stop_token_terminates(byte_backend: XgrammarBackend) -> None:
    """After a complete match only EOS remains; accepting it terminates the grammar."""
    g = byte_backend.compile_grammar(Opt.REGEX, "(yes|no)")
    assert _feed(g, b"no")
    assert _allowed(g, byte_backend) == [EOS]
    assert g.accept_tokens("r", [EOS]) and g.is_terminated()


def test_bounded_json_strings_refuse_control_characters(byte_backend: XgrammarBackend) -> None:
    """A maxLength string admits no raw control byte (strict JSON), only printable text."""
    schema = json.dumps({"type": "object", "properties": {"s": {"type": "string", "maxLength": 4}}, "required": ["s"]})
    g = byte_backend.compile_grammar(Opt.JSON, schema)
    assert _feed(g, b'{"s": "')
    allowed = set(_allowed(g, byte_backend))
    assert not allowed & set(range(0x20)), "raw control bytes would make invalid JSON"
    assert {ord("x"), ord(" "), ord('"')} <= allowed


def test_choice_with_quotes_and_unicode(byte_backend: XgrammarBackend) -> None:
    """Choices are matched literally, quotes and multi-byte characters included."""
    key = get_structured_output_key(SimpleNamespace(json=None, json_object=False, regex=None,
                                                    choice=['say "hi"', "café"], grammar=None))
    g = byte_backend.compile_grammar(*key)
    assert _feed(g, "café".encode())
    assert _allowed(g, byte_backend) == [EOS]
    g2 = byte_backend.compile_grammar(*key)
    assert not _feed(g2, b"say hi")


def test_invalid_regex_is_a_value_error(byte_backend: XgrammarBackend) -> None:
    """A malformed constraint is reported as a ValueError naming its kind."""
    with pytest.raises(ValueError, match="regex"):
        byte_backend.compile_grammar(Opt.REGEX, "([a-z")


def test_unpack_matches_xgrammar_kernel(byte_backend: XgrammarBackend) -> None:
    """Our bit unpacking masks exactly the logits xgrammar's own kernel masks."""
    import xgrammar as xgr

    g = byte_backend.compile_grammar(Opt.REGEX, r"\d{2}[A-Fa-f]")
    mask = byte_backend.allocate_token_bitmask(2)
    g.fill_bitmask(mask, 0)
    _feed(g, b"42")
    g.fill_bitmask(mask, 1)
    logits = torch.randn(2, VOCAB)
    ours = apply_grammar_bitmask(logits, mask)
    theirs = logits.clone()
    xgr.apply_token_bitmask_inplace(theirs, mask)
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    assert torch.equal(ours[~torch.isinf(ours)], logits[~torch.isinf(ours)])


def test_empty_mask_row_is_an_error() -> None:
    """A row with no allowed token raises instead of sampling garbage."""
    mask = torch.zeros(2, (VOCAB + 31) // 32, dtype=torch.int32)
    mask[0] = -1
    with pytest.raises(RuntimeError, match="rows \\[1\\]"):
        apply_grammar_bitmask(torch.zeros(2, VOCAB), mask)


def test_lookahead_masks_follow_drafts_and_restore_state() -> None:
    """Row j is the mask after the first j drafts; the matcher ends where it began."""
    manager = StructuredOutputManager(ByteTokenizer(eos_token_id=EOS, bos_token_id=1), VOCAB)
    so = StructuredOutputRequest((Opt.REGEX, "(ab|ac)d"))
    manager.grammar_init(so)
    masks = manager.grammar_bitmask([(None, [5]), (so, list(b"ab")), (None, [])])
    allowed = unpack_bitmask(masks, VOCAB)
    assert allowed.shape[0] == 2 + 3 + 1
    assert bool(allowed[[0, 1, 5]].all()), "unconstrained rows allow everything"
    assert allowed[2].nonzero().flatten().tolist() == [ord("a")]
    assert allowed[3].nonzero().flatten().tolist() == [ord("b"), ord("c")]
    assert allowed[4].nonzero().flatten().tolist() == [ord("d")]
    assert so.grammar.num_processed_tokens == 0
    assert _feed(so.grammar, b"acd")


def test_refused_draft_is_masked_in_its_own_row() -> None:
    """A draft outside the grammar is forbidden at its position, so it can never be accepted."""
    manager = StructuredOutputManager(ByteTokenizer(eos_token_id=EOS, bos_token_id=1), VOCAB)
    so = StructuredOutputRequest((Opt.REGEX, "[0-9]{3}"))
    manager.grammar_init(so)
    allowed = unpack_bitmask(manager.grammar_bitmask([(so, list(b"1x2"))]), VOCAB)
    assert not bool(allowed[1, ord("x")])
    assert so.grammar.num_processed_tokens == 0


def test_a_tokenizer_without_eos_is_refused() -> None:
    """Without a stop token a finished grammar would allow nothing, so constraints are refused."""
    manager = StructuredOutputManager(ByteTokenizer(eos_token_id=None), VOCAB)
    with pytest.raises(ValueError, match="end-of-sequence"):
        manager.grammar_init(StructuredOutputRequest((Opt.REGEX, "a")))


def test_no_constrained_request_means_no_mask() -> None:
    """A step without constrained requests builds no mask (and loads no backend)."""
    manager = StructuredOutputManager(ByteTokenizer(eos_token_id=EOS), VOCAB)
    assert manager.grammar_bitmask([(None, []), (None, [1, 2])]) is None
    assert manager._backend is None


def test_random_walks_stay_in_schema(byte_backend: XgrammarBackend) -> None:
    """Uniformly random choices among allowed tokens always end in strictly valid, matching JSON."""
    from jsonschema import validate

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 5},
            "n": {"type": "integer", "minimum": -5, "maximum": 300},
            "tags": {"type": "array", "items": {"enum": ["x", "y"]}, "maxItems": 2},
        },
        "required": ["name", "n", "tags"],
        "additionalProperties": False,
    }
    rng = random.Random(0)
    for _ in range(50):
        g = byte_backend.compile_grammar(Opt.JSON, json.dumps(schema))
        out = bytearray()
        while not g.is_terminated():
            token = rng.choice(_allowed(g, byte_backend))
            assert g.accept_tokens("r", [token])
            if token != EOS:
                out.append(token)
        validate(json.loads(out.decode("utf-8")), schema)


# --- end to end through LLM.generate -----------------------------------------------------

SCHEMAS = [
    {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 4},
    {
        "type": "object",
        "properties": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "integer", "minimum": -50, "maximum": 50},
                               "y": {"type": "integer", "minimum": -50, "maximum": 50}},
                "required": ["x", "y"],
                "additionalProperties": False,
            },
            "label": {"enum": ["a", "b", "c", None]},
        },
        "required": ["point", "label"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {
            "active": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 3},
        },
        "required": ["active"],
        "additionalProperties": False,
    },
]
REGEXES = [
    r"\d{3}-\d{3}-\d{4}",
    r"[a-z]{1,8}@[a-z]{1,8}\.(com|org|net)",
    r"(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])",
    r"(red|green|blue)( (red|green|blue)){0,3}",
]


def _constrained_params(i: int, **extra: object) -> SamplingParams:
    """Request i: a schema for even i, a regex for odd i; random sampling with varied truncation."""
    so = (StructuredOutputsParams(json=SCHEMAS[(i // 2) % 4]) if i % 2 == 0
          else StructuredOutputsParams(regex=REGEXES[(i // 2) % 4]))
    return SamplingParams(temperature=1.0, top_p=(1.0, 0.9)[i % 2], top_k=(0, 50)[(i // 3) % 2],
                          max_tokens=160, seed=i, structured_outputs=so, **extra)


def _assert_matches(i: int, text: str) -> None:
    """The output parses as strict JSON valid under its schema, or fully matches its regex."""
    from jsonschema import validate

    if i % 2 == 0:
        validate(json.loads(text), SCHEMAS[(i // 2) % 4])
    else:
        assert re.fullmatch(REGEXES[(i // 2) % 4], text), (i, text)


def test_two_hundred_random_outputs_all_match(tiny_llama_dir: Path) -> None:
    """200 random-sampling outputs of a random-weight model: every one parses and matches, ending on EOS."""
    llm = LLM(tiny_llama_dir, block_size=16, max_model_len=256, max_num_seqs=64)
    prompts = [[(7 * i + j) % 250 + 3 for j in range(5 + i % 7)] for i in range(200)]
    outs = llm.generate(prompts, [_constrained_params(i) for i in range(200)])
    for i, out in enumerate(outs):
        completion = out.outputs[0]
        assert completion.finish_reason == "stop", (i, completion.text)
        raw = bytes(t for t in completion.token_ids if t != EOS)
        assert raw.decode("utf-8") == completion.text, "strictly valid UTF-8 (no surrogates)"
        _assert_matches(i, completion.text)
    assert len({o.outputs[0].text for o in outs}) > 150, "random sampling, not one canned answer"


def test_constraints_with_speculation_and_samples(tiny_llama_dir: Path) -> None:
    """With n-gram drafts and n=3 samples per prompt, every sample still matches its constraint."""
    llm = LLM(tiny_llama_dir, block_size=16, max_model_len=256,
              speculative_config={"num_speculative_tokens": 4, "prompt_lookup_min": 1, "prompt_lookup_max": 3})
    prompts = [list(b'{"name": "ab", "age": 12}') * 2, list(b"555-123-4567 555-123-4567")]
    outs = llm.generate(prompts, [_constrained_params(0, n=3), _constrained_params(1, n=3)])
    for i, out in enumerate(outs):
        assert len(out.outputs) == 3
        for completion in out.outputs:
            _assert_matches(i, completion.text)
    assert llm.llm_engine.spec_decoding_stats.num_draft_tokens > 0


def test_greedy_constrained_output_is_the_same_with_speculation(tiny_llama_dir: Path) -> None:
    """Draft rows are masked like normal rows: greedy constrained outputs do not change."""
    prompts = [list(b"red green red green red"), list(b"2001-02-03 2001-02-03")]
    params = [SamplingParams(temperature=0, max_tokens=60, structured_outputs=StructuredOutputsParams(regex=r))
              for r in (REGEXES[3], REGEXES[2])]
    spec = {"num_speculative_tokens": 4, "prompt_lookup_min": 1, "prompt_lookup_max": 3}
    plain = LLM(tiny_llama_dir, block_size=16, max_model_len=256).generate(prompts, params)
    drafted = LLM(tiny_llama_dir, block_size=16, max_model_len=256, speculative_config=spec).generate(prompts, params)
    assert [o.outputs[0].token_ids for o in plain] == [o.outputs[0].token_ids for o in drafted]


def test_json_with_a_bpe_tokenizer(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """With a trained byte-level BPE tokenizer.json (multi-byte tokens) outputs still match their schema."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from minivllm.tokenizer import HFTokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = [json.dumps({"name": n, "age": a, "active": a % 2 == 0}) for n in ("ann", "bob", "eve") for a in range(40)]
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(tmp_path / "tokenizer.json"))
    hf_tok = HFTokenizer(tmp_path / "tokenizer.json", eos_token_id=2, bos_token_id=1)
    assert max(len(hf_tok.decode([i])) for i in range(3, 300)) > 2, "some tokens span several bytes"
    llm = LLM(tiny_llama_dir, tokenizer=hf_tok, block_size=16, max_model_len=256)
    outs = llm.generate(["{"] * 20, [_constrained_params(2 * k) for k in range(20)])
    for k, out in enumerate(outs):
        assert out.outputs[0].finish_reason == "stop"
        _assert_matches(2 * k, out.outputs[0].text)


def test_min_tokens_cannot_be_combined_with_a_grammar() -> None:
    """A minimum length could contradict the grammar's end, so the combination is refused."""
    with pytest.raises(ValueError, match="min_tokens"):
        SamplingParams(min_tokens=3, structured_outputs=StructuredOutputsParams(regex="a"))


def test_params_need_exactly_one_constraint() -> None:
    """Zero or two constraints in one StructuredOutputsParams are refused."""
    with pytest.raises(ValueError, match="exactly one"):
        StructuredOutputsParams()
    with pytest.raises(ValueError, match="exactly one"):
        StructuredOutputsParams(regex="a", choice=["b"])
