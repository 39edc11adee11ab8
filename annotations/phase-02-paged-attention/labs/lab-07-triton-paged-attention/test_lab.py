"""Lab 02.07 tests: the Triton KV write and varlen paged attention equal the PyTorch reference.

Without a GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set below before
Triton is imported) on small float32 cases; tests marked ``gpu`` compile them for CUDA and add
bfloat16, larger shapes and a CUDA-graph replay.
"""

from __future__ import annotations

import os
import random

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from annotator.labs import load_impl  # noqa: E402
from minivllm.kernels.reference import paged_attention_ref, write_kv_ref  # noqa: E402

impl = load_impl(__file__)
DEV = "cuda" if torch.cuda.is_available() else "cpu"


def paged_case(rng: random.Random, heads: int, kv_heads: int, dim: int, bs: int, qlens: list[int],
               cached: list[int], dtype: torch.dtype = torch.float32) -> dict:
    """A NaN-poisoned cache whose requests own scrambled blocks, with their cached context filled in."""
    torch.manual_seed(rng.randrange(2**31))  # the same tensors whatever ran before in this process
    ctx = [c + q for c, q in zip(cached, qlens)]
    need = [-(-c // bs) for c in ctx]
    blocks = sum(need) + 5
    cache = torch.full((2, kv_heads, blocks, bs, dim), float("nan"), dtype=dtype, device=DEV)
    free = list(range(1, blocks))
    rng.shuffle(free)
    table = torch.zeros(len(qlens), max(need) + 2, dtype=torch.int32)
    for b, n in enumerate(need):
        table[b, :n] = torch.tensor([free.pop() for _ in range(n)])
    slot = [[int(table[b, p // bs]) * bs + p % bs for p in range(ctx[b])] for b in range(len(qlens))]
    old = torch.tensor([s for b, row in enumerate(slot) for s in row[: cached[b]]], dtype=torch.long)
    new = torch.tensor([s for b, row in enumerate(slot) for s in row[cached[b]:]], dtype=torch.long)
    cache.view(2, kv_heads, -1, dim)[:, :, old.to(DEV)] = torch.randn(2, kv_heads, len(old), dim).to(dtype).to(DEV)
    t = sum(qlens)
    q, k, v = (torch.randn(t, h, dim).to(dtype).to(DEV) for h in (heads, kv_heads, kv_heads))
    cu = torch.tensor([0, *torch.tensor(qlens).cumsum(0).tolist()], dtype=torch.int32, device=DEV)
    return dict(cache=cache, table=table.to(DEV), cu=cu, lens=torch.tensor(ctx, dtype=torch.int32, device=DEV),
                q=q, k=k, v=v, slots=new.to(DEV), max_q=max(qlens), dim=dim)


def check_attention(case: dict, tol: float, window: int | None = None) -> None:
    impl.write_kv(case["cache"], case["k"], case["v"], case["slots"])
    args = (case["q"], case["cache"], case["table"], case["cu"], case["lens"])
    out = torch.full_like(case["q"], float("nan"))
    impl.paged_attention(*args, case["max_q"], case["dim"] ** -0.5, out=out, sliding_window=window)
    ref = paged_attention_ref(*args, case["dim"] ** -0.5, sliding_window=window)
    assert not out.isnan().any(), "a query row was left unwritten, or a slot outside the context was read"
    err = float((out.double() - ref.double()).norm() / ref.double().norm())
    assert err < tol, f"relative error {err:.2e}"


def test_write_kv_scatters_rows_and_skips_negative_slots():
    """Each token's key and value land in its slot of every KV head; slot -1 writes nothing."""
    case = paged_case(random.Random(0), 4, 2, 16, 4, [5, 1, 3], [0, 6, 2])
    slots = case["slots"].clone()
    slots[1] = -1
    mine, ref = case["cache"].clone(), case["cache"].clone()
    impl.write_kv(mine, case["k"], case["v"], slots)
    write_kv_ref(ref, case["k"], case["v"], slots)
    assert torch.equal(mine.nan_to_num(9.0), ref.nan_to_num(9.0))


def test_decode_rows_read_their_whole_context():
    """Single-token queries over contexts that end mid-block, GQA group of 2."""
    check_attention(paged_case(random.Random(1), 4, 2, 16, 4, [1, 1, 1, 1], [0, 3, 9, 22]), 1e-5)


def test_prefill_chunks_after_cached_context_are_causal():
    """Chunks that start after cached tokens (or at 0), a decode row, and a request with no query."""
    check_attention(paged_case(random.Random(2), 8, 2, 32, 8, [13, 1, 6, 0], [0, 17, 9, 5]), 1e-5)


def test_group_that_is_not_a_power_of_two_and_long_prefill():
    """Three query heads per KV head, head_dim 24 (padded to 32), a prompt longer than a tile."""
    check_attention(paged_case(random.Random(3), 6, 2, 24, 4, [70, 2], [0, 31]), 1e-5)


def test_running_max_rises_in_a_later_key_tile():
    """Contexts of 3-4 key tiles: when a later tile raises a row's max, earlier sums are rescaled."""
    check_attention(paged_case(random.Random(7), 4, 2, 16, 8, [1, 1, 40], [150, 200, 120]), 1e-5)


def test_sliding_window_hides_old_keys():
    """With a window, query p sees only keys p - window < k <= p."""
    check_attention(paged_case(random.Random(4), 4, 1, 16, 4, [20, 1, 4], [0, 40, 11]), 1e-5, window=6)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_compiled_kernels_on_cuda(dtype):
    """Compiled for the GPU: Llama-sized heads (32 / 8, head_dim 64 and 128), mixed batches."""
    if not torch.cuda.is_available():
        pytest.fail("marked gpu but no CUDA device")
    rng = random.Random(5)
    for heads, kv_heads, dim in [(32, 8, 64), (16, 4, 128)]:
        qlens = [1] * 6 + [rng.randrange(2, 200) for _ in range(3)]
        cached = [rng.randrange(0, 900) for _ in qlens]
        check_attention(paged_case(rng, heads, kv_heads, dim, 16, qlens, cached, dtype),
                        1e-5 if dtype == torch.float32 else 1e-2)


@pytest.mark.gpu
def test_decode_launch_replays_in_a_cuda_graph():
    """The kernel reads every bound from device memory, so a recorded launch follows new lengths."""
    if not torch.cuda.is_available():
        pytest.fail("marked gpu but no CUDA device")
    case = paged_case(random.Random(6), 8, 2, 64, 16, [1] * 4, [30, 70, 5, 120], torch.bfloat16)
    cache = case["cache"].nan_to_num(0.0)
    out = torch.empty_like(case["q"])
    args = (case["q"], cache, case["table"], case["cu"], case["lens"])
    impl.paged_attention(*args, 1, 0.125, out=out)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        impl.paged_attention(*args, 1, 0.125, out=out)
    for shrink in (1, 3, 5):
        case["lens"].copy_(torch.tensor([30, 70, 5, 120], device=DEV) - shrink)
        graph.replay()
        ref = paged_attention_ref(*args, 0.125)
        assert float((out.double() - ref.double()).norm() / ref.double().norm()) < 1e-2
