"""Lab 15.01 tests: prefill on one engine + KV hand-off + decode on another == one engine alone."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

BLOCK = 4


def engines():
    """A prefill engine and a decode engine whose block allocation orders differ."""
    return impl.ToyEngine(16, BLOCK), impl.ToyEngine(16, BLOCK, reverse_free_order=True)


@pytest.mark.parametrize("prompt_len", [1, 3, 4, 9])
def test_handoff_equals_single_engine(prompt_len: int):
    """Disaggregated generation emits the single-engine tokens despite different block tables."""
    prompt = [(7 * i + 3) % 31 for i in range(prompt_len)]
    expected = impl.single_engine_generate(impl.ToyEngine(16, BLOCK), "r", prompt, 8)
    p_engine, d_engine = engines()
    got = impl.disaggregated_generate(p_engine, d_engine, "r", prompt, 8)
    assert got == expected
    assert set(d_engine.tables["r"]).isdisjoint(range(4))  # the decode engine hands out high ids first


def test_payload_is_per_token_and_sender_frees_everything():
    """The payload has one K and V per token in order; after the hand-off the sender's blocks are all free."""
    p_engine, d_engine = engines()
    prompt = [5, 9, 2, 8, 1, 4]
    p_engine.prefill("r", prompt)
    payload = impl.extract_kv(p_engine, "r")
    assert payload.token_ids == tuple(prompt)
    assert payload.keys.shape == (6, p_engine.heads, p_engine.dim) == payload.values.shape
    table = p_engine.tables["r"]
    torch.testing.assert_close(payload.keys[5], p_engine.k_cache[table[1], 1])
    p_engine.free_request("r")
    impl.disaggregated_generate(p_engine, d_engine, "s", prompt, 3)
    assert sorted(p_engine.free) == list(range(16))


def test_injection_does_not_disturb_a_resident_request():
    """A request decoding on the receiver continues exactly as if no other request were injected."""
    alone = impl.ToyEngine(16, BLOCK, reverse_free_order=True)
    expected = impl.single_engine_generate(alone, "a", [1, 2, 3, 4, 5], 6)
    p_engine, d_engine = engines()
    first = [d_engine.prefill("a", [1, 2, 3, 4, 5])]
    first.append(d_engine.decode("a", first[-1]))
    impl.disaggregated_generate(p_engine, d_engine, "b", [9, 8, 7, 6, 5, 4, 3], 4)
    while len(first) < 6:
        first.append(d_engine.decode("a", first[-1]))
    assert first == expected
