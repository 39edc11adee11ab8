"""Triton kernels against their PyTorch references, on random shapes (needs CUDA: ``-m gpu``).

Every case draws fresh inputs: scrambled block ids, partial last blocks,
chunks that start after cached context, empty requests, GQA groups that are
not powers of two. Cache slots that belong to no request hold NaN, so a
kernel that reads one poisons its output instead of passing by luck.
"""

from __future__ import annotations

import os
import random

import pytest
import torch

pytestmark = pytest.mark.gpu

# Kernel development without a GPU: MINIVLLM_TEST_DEVICE=cpu TRITON_INTERPRET=1 (float32 cases only).
DEV = os.environ.get("MINIVLLM_TEST_DEVICE", "cuda")


def _require_cuda() -> None:
    if DEV == "cuda" and not torch.cuda.is_available():
        pytest.fail("marked gpu but no CUDA device")


def make_batch(rng: random.Random, heads: int, kv_heads: int, head_dim: int, block_size: int,
               qlens: list[int], cached: list[int], dtype: torch.dtype):
    """A paged cache with scrambled block tables, and one step's q/k/v and slots for it."""
    g = torch.Generator(device=DEV).manual_seed(rng.randrange(1 << 30))
    ctx = [c + q for c, q in zip(cached, qlens)]
    need = [-(-c // block_size) for c in ctx]
    num_blocks = sum(need) + 7
    cache = torch.full((2, kv_heads, num_blocks, block_size, head_dim), float("nan"), dtype=dtype, device=DEV)
    free = list(range(1, num_blocks))
    rng.shuffle(free)
    width = max(need) + 3
    table = torch.zeros(len(qlens), width, dtype=torch.int32)
    for b, n in enumerate(need):
        table[b, :n] = torch.tensor([free.pop() for _ in range(n)])

    def slots_of(b: int, positions: range) -> list[int]:
        return [int(table[b, p // block_size]) * block_size + p % block_size for p in positions]

    old = torch.tensor([s for b in range(len(qlens)) for s in slots_of(b, range(cached[b]))], dtype=torch.long, device=DEV)
    flat = cache.view(2, kv_heads, -1, head_dim)  # the context computed before this step
    flat[:, :, old] = torch.randn(2, kv_heads, len(old), head_dim, generator=g, device=DEV).to(dtype)
    slots = [s for b in range(len(qlens)) for s in slots_of(b, range(cached[b], ctx[b]))]
    total = sum(qlens)
    q, k, v = (torch.randn(total, h, head_dim, generator=g, device=DEV).to(dtype) for h in (heads, kv_heads, kv_heads))
    cu = torch.tensor([0, *torch.tensor(qlens).cumsum(0).tolist()], dtype=torch.int32, device=DEV)
    return dict(cache=cache, table=table.to(DEV), cu=cu, seq_lens=torch.tensor(ctx, dtype=torch.int32, device=DEV),
                q=q, k=k, v=v, slots=torch.tensor(slots, dtype=torch.int64, device=DEV), max_q=max(qlens))


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out.double() - ref.double()).norm() / ref.double().norm())


SHAPES = [  # heads, kv_heads, head_dim, block_size
    (4, 4, 64, 16), (8, 2, 128, 16), (12, 4, 64, 8), (32, 8, 64, 16), (6, 2, 80, 32), (16, 1, 128, 16),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("shape", SHAPES)
def test_write_kv_matches_reference(shape, dtype) -> None:
    """The KV write kernel puts every row where the reference scatter does, and skips slot -1."""
    _require_cuda()
    from minivllm.kernels.paged_attention import write_kv
    from minivllm.kernels.reference import write_kv_ref

    rng = random.Random(f"{shape}{dtype}")
    heads, kv_heads, head_dim, bs = shape
    qlens = [rng.randrange(1, 40) for _ in range(5)]
    batch = make_batch(rng, heads, kv_heads, head_dim, bs, qlens, [rng.randrange(0, 50) for _ in qlens], dtype)
    slots = batch["slots"].clone()
    slots[::3] = -1
    mine, ref = batch["cache"].clone(), batch["cache"].clone()
    write_kv(mine, batch["k"], batch["v"], slots)
    write_kv_ref(ref, batch["k"], batch["v"], slots)
    assert torch.equal(mine.nan_to_num(7.0), ref.nan_to_num(7.0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["decode", "prefill", "mixed", "window"])
def test_paged_attention_matches_reference(shape, dtype, kind) -> None:
    """Varlen paged attention equals the per-request SDPA reference (fp32 < 1e-5, bf16 < 1e-2 relative)."""
    _require_cuda()
    from minivllm.kernels.paged_attention import paged_attention, write_kv
    from minivllm.kernels.reference import paged_attention_ref

    rng = random.Random(f"{shape}{dtype}{kind}")
    heads, kv_heads, head_dim, bs = shape
    n = rng.randrange(3, 9)
    if kind == "decode":
        qlens, cached = [1] * n, [rng.randrange(0, 300) for _ in range(n)]
    elif kind == "prefill":
        qlens, cached = [rng.randrange(1, 150) for _ in range(n)], [0] * n
    else:  # chunks after cached context, decodes, and one request with no tokens this step
        qlens = [rng.choice([1, rng.randrange(2, 90)]) for _ in range(n)] + [0]
        cached = [rng.randrange(0, 200) for _ in range(n)] + [rng.randrange(1, 30)]
    window = rng.randrange(5, 60) if kind == "window" else None
    batch = make_batch(rng, heads, kv_heads, head_dim, bs, qlens, cached, dtype)
    write_kv(batch["cache"], batch["k"], batch["v"], batch["slots"])
    args = (batch["q"], batch["cache"], batch["table"], batch["cu"], batch["seq_lens"])
    out = torch.full_like(batch["q"], float("nan"))
    paged_attention(*args, batch["max_q"], head_dim**-0.5, out=out, sliding_window=window)
    ref = paged_attention_ref(*args, head_dim**-0.5, sliding_window=window)
    assert not out.isnan().any(), "a query row was not written, or a padding slot was read"
    assert rel_err(out, ref) < (1e-5 if dtype == torch.float32 else 1e-2)


def test_paged_attention_replays_in_a_cuda_graph() -> None:
    """Recorded once, the decode launch reads new tables and lengths from its buffers on every replay."""
    _require_cuda()
    from minivllm.kernels.paged_attention import paged_attention
    from minivllm.kernels.reference import paged_attention_ref

    rng = random.Random(5)
    first = make_batch(rng, 8, 2, 64, 16, [1] * 6, [rng.randrange(1, 200) for _ in range(6)], torch.bfloat16)
    static = {key: first[key].clone() for key in ("q", "table", "cu", "seq_lens")}
    cache = first["cache"].nan_to_num(0.0)
    out = torch.empty_like(static["q"])

    def launch() -> None:
        paged_attention(static["q"], cache, static["table"], static["cu"], static["seq_lens"], 1, 0.125, out=out)

    launch()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        launch()
    for _ in range(3):
        perm = torch.randperm(6, device=DEV)
        static["table"].copy_(first["table"][perm])
        static["seq_lens"].copy_(first["seq_lens"][perm])
        static["q"].normal_()
        graph.replay()
        ref = paged_attention_ref(static["q"], cache, static["table"], static["cu"], static["seq_lens"], 0.125)
        assert rel_err(out, ref) < 1e-2


def test_attention_module_cuda_branch_uses_the_kernel() -> None:
    """minivllm.attention.paged_attention on CUDA tensors runs the Triton kernel with its metadata's fields."""
    _require_cuda()
    from types import SimpleNamespace

    from minivllm.attention import paged_attention as module_attention
    from minivllm.kernels.paged_attention import write_kv
    from minivllm.kernels.reference import paged_attention_ref

    rng = random.Random(11)
    qlens, cached = [1, 7, 1, 30], [40, 0, 3, 12]
    batch = make_batch(rng, 8, 2, 64, 16, qlens, cached, torch.bfloat16)
    write_kv(batch["cache"], batch["k"], batch["v"], batch["slots"])
    md = SimpleNamespace(query_start_loc=batch["cu"], seq_lens=batch["seq_lens"], block_table=batch["table"],
                         max_query_len=max(qlens), max_seq_len=max(c + q for c, q in zip(cached, qlens)))
    out = module_attention(batch["q"], batch["cache"], md, 0.125, sliding_window=9)
    ref = paged_attention_ref(batch["q"], batch["cache"], batch["table"], batch["cu"], batch["seq_lens"], 0.125, 9)
    assert rel_err(out, ref) < 1e-2
