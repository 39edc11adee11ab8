"""Tests for annotator.rebase.align: equal blocks, moved long lines, short lines placed by neighbours."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from annotator.rebase.align import MIN_MOVED_ALNUM, Placement, align, is_strong, normalise

LONG = "self.used_block_ids[block_identifier] = compute(x)"
SHORT = "return x"


def test_identical_texts_map_every_line_to_itself():
    """Unchanged text aligns line i to line i, all exact."""
    lines = ["a = 1", "b = 2", ")", "", "return a"]
    out = align(lines, lines)
    assert [p.index for p in out] == list(range(len(lines)))
    assert all(p.how == "equal" for p in out)


def test_inserted_lines_above_shift_the_rest():
    """Lines inserted at the top shift every old line by the number inserted."""
    old = ["x = 1", "y = 2", "return y"]
    new = ["import os", "", "x = 1", "y = 2", "return y"]
    assert [p.index for p in align(old, new)] == [2, 3, 4]


def test_reindent_is_not_an_edit():
    """Whitespace-only changes (indentation, inner runs) still count as the same line."""
    old = ["if a:", "    call(a,  b)"]
    new = ["if a:", "        call(a, b)"]
    assert align(old, new)[1].how == "equal"


def test_long_line_moved_far_is_found():
    """A line with >= 20 alphanumerics that moved out of order is matched by its text."""
    assert is_strong(normalise(LONG))
    old = [LONG, "a = 1", "b = 2", "c = 3", "d = 4"]
    new = ["a = 1", "b = 2", "c = 3", "d = 4", LONG]
    out = align(old, new)
    assert out[0].index == 4 and out[0].how in ("moved", "equal")


def test_long_line_moved_out_of_order_is_marked_moved():
    """Two long lines that swapped places: one is in order, the other is found as moved."""
    other = "another_long_statement_with_many_letters(value)"
    out = align([LONG, other], [other, LONG])
    assert sorted(p.how for p in out) == ["equal", "moved"]
    assert {p.index for p in out} == {0, 1}


def test_short_line_moved_far_is_placed_by_neighbours():
    """A short line that jumped elsewhere is not identified by its text; neighbours place it."""
    assert not is_strong(normalise(SHORT))
    old = ["a = 1", SHORT, "b = 2", "c = 3", "d = 4"]
    new = ["a = 1", "zzz = 9", "b = 2", "c = 3", "d = 4", SHORT]
    p = align(old, new)[1]
    assert p.how == "placed" and p.index == 1


def test_edited_line_sits_between_its_neighbours():
    """An edited line lands between the new positions of its unchanged neighbours."""
    old = ["first = 1", "budget -= request.num_prompt_tokens", "last = 2"]
    new = ["first = 1", "extra = 0", "budget -= request.num_new_tokens", "last = 2"]
    p = align(old, new)[1]
    assert p.how == "placed" and p.index in (1, 2)


def test_deleted_line_falls_to_next_neighbour():
    """A deleted line maps to the next surviving line (or the previous at the end)."""
    old = ["a = 1", "gone = 0", "b = 2"]
    new = ["a = 1", "b = 2"]
    assert align(old, new)[1] == Placement(1, "placed")
    assert align(["a = 1", "gone = 0"], ["a = 1"])[1].index == 0


def test_nothing_to_point_at_is_gone():
    """Aligning against an empty new text leaves every line without a place."""
    assert [p.how for p in align(["a", "b"], [])] == ["gone", "gone"]


def test_threshold_is_gits_twenty():
    """The moved-line threshold is git's 20 alphanumeric characters."""
    assert MIN_MOVED_ALNUM == 20
    assert is_strong("a" * 20) and not is_strong("a" * 19 + " ()")


@given(
    st.lists(st.sampled_from(["a = 1", "b = 2", ")", "", "return x", LONG, "pass"]), max_size=25),
    st.lists(st.sampled_from(["a = 1", "b = 2", ")", "", "return x", LONG, "pass", "new = 3"]), max_size=25),
)
def test_every_placement_is_a_valid_index_and_exact_means_same_text(old, new):
    """Placements index into the new lines, and an exact placement carries the old text."""
    out = align(old, new)
    assert len(out) == len(old)
    for i, p in enumerate(out):
        if p.index is None:
            assert not new
            continue
        assert 0 <= p.index < len(new)
        if p.exact:
            assert normalise(new[p.index]) == normalise(old[i])


@given(
    st.lists(st.sampled_from(["a", "b", ")", "", LONG]), max_size=30),
    st.lists(st.sampled_from(["a", "b", ")", "", LONG, "c"]), max_size=30),
)
def test_equal_placements_never_cross(old, new):
    """Lines placed as equal keep their order: new indices never decrease along the old text."""
    idx = [p.index for p in align(old, new) if p.how == "equal"]
    assert idx == sorted(idx)


def test_edited_line_goes_to_most_similar_line_of_its_gap():
    """An edited line lands on the gap line most like it, not merely the first one."""
    old = ["a = 1", "if num_blocks_to_allocate > self.block_pool.get_num_free_blocks():", "return None"]
    new = [
        "a = 1",
        "available_blocks = self.block_pool.get_num_free_blocks() - reserved_blocks",
        "if num_blocks_to_allocate > available_blocks:",
        "return None",
    ]
    assert align(old, new)[1] == Placement(2, "placed")


def test_rewritten_file_places_lines_lazily_and_within_gap():
    """A wholesale rewrite still places every line inside the (large) gap, quickly."""
    old = [f"old_statement_{i} = compute({i})" for i in range(3000)]
    new = [f"new_statement_{i} = other({i})" for i in range(3000)]
    al = align(old, new)
    assert len(al) == 3000 and all(0 <= al[i].index < 3000 for i in (0, 1500, 2999))
