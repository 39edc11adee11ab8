"""Lab 13.01 tests: placeholder expansion, embedding merge == loop, encoder scheduling per chunk."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

IMG = 99


def test_num_image_tokens():
    """Patch grids: 336x336 / 14 = 576; merge 2 → 144; non-dividing sides round up."""
    assert impl.num_image_tokens(336, 336, 14) == 576
    assert impl.num_image_tokens(336, 336, 14, merge=2) == 144
    assert impl.num_image_tokens(30, 50, 16) == 2 * 4
    assert impl.num_image_tokens(30, 50, 16, merge=2) == 1 * 2


def test_expansion_records_ranges():
    """Each image's run sits at its recorded offset and length; text tokens keep their order."""
    prompt = [1, IMG, 2, 3, IMG, 4]
    out, ranges = impl.expand_placeholders(prompt, IMG, [3, 2])
    assert out == [1, IMG, IMG, IMG, 2, 3, IMG, IMG, 4]
    assert [(r.offset, r.length) for r in ranges] == [(1, 3), (6, 2)]
    for r in ranges:
        assert out[r.offset : r.offset + r.length] == [IMG] * r.length
    assert [t for t in out if t != IMG] == [1, 2, 3, 4]


def test_expansion_refuses_count_mismatch():
    """Two placeholders with one image size raises ValueError."""
    with pytest.raises(ValueError):
        impl.expand_placeholders([IMG, 5, IMG], IMG, [4])
    with pytest.raises(ValueError):
        impl.expand_placeholders([IMG, 5], IMG, [4, 2])


def test_a_chunk_starting_inside_an_image_still_encodes_it():
    """After a prefix-cache hit a chunk may start mid-image: that image is still requested."""
    prompt, ranges = impl.expand_placeholders([1, IMG, 2], IMG, [4])
    assert impl.images_to_encode(ranges, ranges[0].offset + 2, 3, set()) == [0]
    assert impl.images_to_encode(ranges, ranges[0].offset + 4, 1, set()) == []


def test_merge_equals_row_loop_and_checks_counts():
    """Merged embeddings equal a loop that fills placeholder rows in order; a count mismatch raises."""
    ids, _ = impl.expand_placeholders([7, IMG, 8, IMG, IMG], IMG, [2, 1, 3])
    ids = torch.tensor(ids)
    g = torch.Generator().manual_seed(0)
    text = torch.randn(len(ids), 4, generator=g)
    mm = torch.randn(6, 4, generator=g)
    expected = text.clone()
    k = 0
    for i, t in enumerate(ids.tolist()):
        if t == IMG:
            expected[i] = mm[k]
            k += 1
    torch.testing.assert_close(impl.merge_multimodal_embeddings(ids, text, mm, IMG), expected)
    assert not torch.equal(impl.merge_multimodal_embeddings(ids, text, mm, IMG), text)
    with pytest.raises(ValueError):
        impl.merge_multimodal_embeddings(ids, text, mm[:5], IMG)


@pytest.mark.parametrize("chunk", [1, 3, 5, 100])
def test_chunked_prefill_encodes_each_image_once_when_first_reached(chunk: int):
    """Walking a prompt in chunks requests each image once, in the first chunk overlapping it."""
    prompt, ranges = impl.expand_placeholders([1, IMG, 2, 3, IMG, 4, IMG], IMG, [4, 2, 3])
    encoded: set[int] = set()
    first_chunk: dict[int, int] = {}
    for start in range(0, len(prompt), chunk):
        n = min(chunk, len(prompt) - start)
        for i in impl.images_to_encode(ranges, start, n, encoded):
            assert i not in encoded
            first_chunk[i] = start
            encoded.add(i)
    assert encoded == {0, 1, 2}
    for i, r in enumerate(ranges):
        assert first_chunk[i] == (r.offset // chunk) * chunk
