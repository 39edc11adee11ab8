"""Lab 02.03 tests: chained block hashes identify prefixes and are computed once per full block."""

from __future__ import annotations

from types import SimpleNamespace

from annotator.labs import load_impl

impl = load_impl(__file__)

BS = 4


def fake_request(tokens, extra=()):
    """What the hasher reads from a request: its tokens, its hashes so far, its extra keys."""
    return SimpleNamespace(all_token_ids=list(tokens), block_hashes=[], extra_hash_keys=extra)


def hash_all(tokens, extra=()):
    """Run a fresh request's hasher once over the whole token list."""
    req = fake_request(tokens, extra)
    req.block_hashes.extend(impl.get_request_block_hasher(BS)(req))
    return req.block_hashes


def test_single_block_hash_properties():
    """Deterministic 32-byte digests that change with tokens, order, parent and extra keys."""
    h = impl.hash_block_tokens(None, [1, 2, 3, 4])
    assert isinstance(h, bytes) and len(h) == 32
    assert h == impl.hash_block_tokens(None, [1, 2, 3, 4])
    variants = {
        impl.hash_block_tokens(None, [1, 2, 3, 5]),
        impl.hash_block_tokens(None, [4, 3, 2, 1]),
        impl.hash_block_tokens(h, [1, 2, 3, 4]),
        impl.hash_block_tokens(None, [1, 2, 3, 4], ("lora-7",)),
    }
    assert h not in variants and len(variants) == 4


def test_shared_prefix_shares_exactly_the_full_common_blocks():
    """Prompts differing at token 9 share hashes of blocks 0-1 only, even with equal later blocks."""
    a = list(range(20))
    b = list(range(20))
    b[9] = 99
    ha, hb = hash_all(a), hash_all(b)
    assert len(ha) == len(hb) == 5
    assert ha[:2] == hb[:2]
    assert all(x != y for x, y in zip(ha[2:], hb[2:]))  # block 3+ identical tokens, different prefix
    assert hash_all(a, ("adapter",))[0] != ha[0]


def test_incremental_hashing_matches_one_shot_and_skips_partial_blocks():
    """Tokens arriving one at a time produce each full block's hash once, equal to one-shot hashing."""
    tokens = [7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4]
    req = fake_request(tokens[:3])
    hasher = impl.get_request_block_hasher(BS)
    new_counts = []
    for t in tokens[3:]:
        req.all_token_ids.append(t)
        new = hasher(req)
        new_counts.append(len(new))
        req.block_hashes.extend(new)
    assert sum(new_counts) == len(tokens) // BS == 3
    assert new_counts[0] == 1 and new_counts[4] == 1 and new_counts[8] == 1
    assert req.block_hashes == hash_all(tokens)
    chained = impl.hash_block_tokens(impl.hash_block_tokens(None, tokens[:4]), tokens[4:8])
    assert req.block_hashes[1] == chained
