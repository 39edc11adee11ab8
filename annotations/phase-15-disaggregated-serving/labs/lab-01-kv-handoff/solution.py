"""Lab 15.01: prefill on one engine, decode on another, moving the KV cache in between.

Prefill is compute-bound, decode memory-bound; running them on separate instances lets each be
sized and batched for its own job. The price is a hand-off: once the prefill instance has
computed a prompt's keys and values, they must reach the decode instance, whose paged cache
has its *own* free blocks. The payload is therefore expressed in tokens, not block ids: the
sender gathers through its block table, the receiver allocates fresh blocks and scatters
through its table. Correctness is simple to state: the tokens decoded must equal what one
engine alone would have produced.

The "model" is one attention layer over token embeddings with rotary-free positions mixed in,
small enough to run in microseconds but sensitive to every cached value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KVPayload:
    """A request's cache content, independent of any engine's block ids."""

    token_ids: tuple[int, ...]
    keys: torch.Tensor
    values: torch.Tensor


class ToyEngine:
    """A one-layer attention model over a paged KV cache.

    Args:
        num_blocks: Blocks in the cache.
        block_size: Tokens per block.
        reverse_free_order: Hand out blocks from the highest id down, so two engines given the
            same requests end up with different block tables.
        vocab, heads, dim: Model shape; the weights come from a fixed seed, so every engine
            holds the same model.
    """

    def __init__(
        self, num_blocks: int, block_size: int, reverse_free_order: bool = False,
        vocab: int = 31, heads: int = 2, dim: int = 4,
    ) -> None:  # fmt: skip
        g = torch.Generator().manual_seed(1234)
        self.embed = torch.randn(vocab, heads * dim, generator=g, dtype=torch.float64)
        self.wq, self.wk, self.wv = (
            torch.randn(heads * dim, heads * dim, generator=g, dtype=torch.float64) for _ in range(3)
        )
        self.heads, self.dim, self.block_size = heads, dim, block_size
        self.k_cache = torch.zeros(num_blocks, block_size, heads, dim, dtype=torch.float64)
        self.v_cache = torch.zeros_like(self.k_cache)
        order = range(num_blocks - 1, -1, -1) if reverse_free_order else range(num_blocks)
        self.free = list(order)
        self.tables: dict[str, list[int]] = {}
        self.tokens: dict[str, list[int]] = {}

    def allocate(self, req_id: str, num_tokens: int) -> list[int]:
        """Grow the request's block table to hold ``num_tokens`` tokens; return it."""
        table = self.tables.setdefault(req_id, [])
        need = -(-num_tokens // self.block_size) - len(table)
        if need > len(self.free):
            raise MemoryError(f"{req_id}: needs {need} more blocks, {len(self.free)} free")
        table.extend(self.free.pop(0) for _ in range(need))
        return table

    def free_request(self, req_id: str) -> None:
        """Return the request's blocks to the free list."""
        self.free.extend(self.tables.pop(req_id, []))
        self.tokens.pop(req_id, None)

    def _qkv(self, token: int, pos: int) -> tuple[torch.Tensor, ...]:
        x = self.embed[token] * (1.0 + 0.1 * pos)
        shape = (self.heads, self.dim)
        return tuple((x @ w).view(shape) for w in (self.wq, self.wk, self.wv))

    def _step(self, req_id: str, token: int) -> int:
        """Append one token: write its K/V, attend over the whole cache, return the next token."""
        pos = len(self.tokens[req_id])
        q, k, v = self._qkv(token, pos)
        table = self.allocate(req_id, pos + 1)
        block, offset = table[pos // self.block_size], pos % self.block_size
        self.k_cache[block, offset], self.v_cache[block, offset] = k, v
        self.tokens[req_id].append(token)
        keys = torch.stack([self.k_cache[table[p // self.block_size], p % self.block_size] for p in range(pos + 1)])
        vals = torch.stack([self.v_cache[table[p // self.block_size], p % self.block_size] for p in range(pos + 1)])
        weights = torch.softmax(torch.einsum("hd,phd->hp", q, keys) / self.dim**0.5, dim=-1)
        out = torch.einsum("hp,phd->hd", weights, vals).flatten()
        return int((out @ self.embed.T).argmax())

    def prefill(self, req_id: str, prompt: Sequence[int]) -> int:
        """Run the prompt; return the first generated token."""
        self.tokens[req_id] = []
        nxt = -1
        for token in prompt:
            nxt = self._step(req_id, token)
        return nxt

    def decode(self, req_id: str, token: int) -> int:
        """Feed the last generated token; return the next one."""
        return self._step(req_id, token)


def single_engine_generate(engine: ToyEngine, req_id: str, prompt: Sequence[int], max_new: int) -> list[int]:
    """The reference: prefill and decode on one engine."""
    out = [engine.prefill(req_id, prompt)]
    while len(out) < max_new:
        out.append(engine.decode(req_id, out[-1]))
    return out


def extract_kv(engine: ToyEngine, req_id: str) -> KVPayload:
    """Gather a request's keys and values, in token order, out of the engine's blocks."""
    table, bs = engine.tables[req_id], engine.block_size
    n = len(engine.tokens[req_id])
    blocks = torch.tensor([table[p // bs] for p in range(n)])
    offsets = torch.tensor([p % bs for p in range(n)])
    return KVPayload(
        token_ids=tuple(engine.tokens[req_id]),
        keys=engine.k_cache[blocks, offsets].clone(),
        values=engine.v_cache[blocks, offsets].clone(),
    )


def inject_kv(engine: ToyEngine, req_id: str, payload: KVPayload) -> None:
    """Allocate the engine's own blocks for the payload and scatter it into them."""
    n = len(payload.token_ids)
    table, bs = engine.allocate(req_id, n), engine.block_size
    blocks = torch.tensor([table[p // bs] for p in range(n)])
    offsets = torch.tensor([p % bs for p in range(n)])
    engine.k_cache[blocks, offsets] = payload.keys
    engine.v_cache[blocks, offsets] = payload.values
    engine.tokens[req_id] = list(payload.token_ids)


def disaggregated_generate(
    prefill_engine: ToyEngine, decode_engine: ToyEngine, req_id: str, prompt: Sequence[int], max_new: int
) -> list[int]:
    """Prefill on one engine, hand the KV over, decode on the other."""
    out = [prefill_engine.prefill(req_id, prompt)]
    payload = extract_kv(prefill_engine, req_id)
    prefill_engine.free_request(req_id)
    inject_kv(decode_engine, req_id, payload)
    while len(out) < max_new:
        out.append(decode_engine.decode(req_id, out[-1]))
    return out
