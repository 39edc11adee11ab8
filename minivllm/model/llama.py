"""A Llama-style decoder that runs over the paged KV cache.

Module names follow the Hugging Face checkpoint layout (``model.layers.N.
self_attn...``) so loading is a name lookup, except for the two fused
projections (q/k/v and gate/up), which ``load_weights`` assembles.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from minivllm.attention import Attention, AttentionMetadata
from minivllm.config import ModelConfig
from minivllm.model.layers import FusedLinear, RMSNorm, RotaryEmbedding, SiluAndMul

# (checkpoint name part, fused module name part, shard id)
STACKED_PARAMS = (
    (".q_proj.", ".qkv_proj.", "q"),
    (".k_proj.", ".qkv_proj.", "k"),
    (".v_proj.", ".qkv_proj.", "v"),
    (".gate_proj.", ".gate_up_proj.", "gate"),
    (".up_proj.", ".gate_up_proj.", "up"),
)


# upstream: vllm/model_executor/models/llama.py:81 — LlamaMLP
class LlamaMLP(nn.Module):
    """SwiGLU feed-forward: ``down(silu(gate(x)) * up(x))`` with gate and up fused."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        inter = cfg.intermediate_size
        self.gate_up_proj = FusedLinear(cfg.hidden_size, {"gate": inter, "up": inter}, cfg.mlp_bias)
        self.down_proj = nn.Linear(inter, cfg.hidden_size, bias=cfg.mlp_bias)
        self.act_fn = SiluAndMul()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, hidden]`` → ``[T, hidden]``."""
        return self.down_proj(self.act_fn(self.gate_up_proj(x)))


# upstream: vllm/model_executor/models/llama.py:124 — LlamaAttention
class LlamaAttention(nn.Module):
    """Grouped-query self-attention: ``kv_heads`` key/value heads shared by
    ``heads / kv_heads`` query heads each, which shrinks the KV cache by that factor."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.num_kv_heads = cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        q_size = self.num_heads * self.head_dim
        kv_size = self.num_kv_heads * self.head_dim
        self.qkv_proj = FusedLinear(
            cfg.hidden_size, {"q": q_size, "k": kv_size, "v": kv_size}, cfg.attention_bias
        )
        self.o_proj = nn.Linear(q_size, cfg.hidden_size, bias=cfg.attention_bias)
        self.rotary_emb = RotaryEmbedding(self.head_dim, cfg.max_position_embeddings, cfg.rope_theta)
        self.attn = Attention(self.head_dim, cfg.sliding_window)
        self.split = (q_size, kv_size, kv_size)

    # upstream: vllm/model_executor/models/llama.py:223 — LlamaAttention.forward()
    def forward(
        self, positions: torch.Tensor, x: torch.Tensor, kv_cache: torch.Tensor, md: AttentionMetadata
    ) -> torch.Tensor:
        """Project, rotate by position, attend over the paged cache, project back."""
        q, k, v = self.qkv_proj(x).split(self.split, dim=-1)
        q = q.view(-1, self.num_heads, self.head_dim)
        k = k.view(-1, self.num_kv_heads, self.head_dim)
        v = v.view(-1, self.num_kv_heads, self.head_dim)
        q, k = self.rotary_emb(positions, q, k)
        out = self.attn(q, k, v, kv_cache, md)
        return self.o_proj(out.flatten(1))


# upstream: vllm/model_executor/models/llama.py:253 — LlamaDecoderLayer
class LlamaDecoderLayer(nn.Module):
    """Pre-norm residual block: attention, then MLP."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = LlamaMLP(cfg)

    def forward(
        self, positions: torch.Tensor, h: torch.Tensor, kv_cache: torch.Tensor, md: AttentionMetadata
    ) -> torch.Tensor:
        """One residual block over the flattened batch."""
        h = h + self.self_attn(positions, self.input_layernorm(h), kv_cache, md)
        return h + self.mlp(self.post_attention_layernorm(h))


# upstream: vllm/model_executor/models/llama.py:350 — LlamaModel
class LlamaModel(nn.Module):
    """Embedding, decoder layers, final norm."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    # upstream: vllm/model_executor/models/llama.py:395 — LlamaModel.forward()
    def forward(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor,
        kv_caches: list[torch.Tensor],
        md: AttentionMetadata,
    ) -> torch.Tensor:
        """Hidden states ``[T, hidden]`` for every token of the batch."""
        h = self.embed_tokens(input_ids)
        for layer, kv_cache in zip(self.layers, kv_caches):
            h = layer(positions, h, kv_cache, md)
        return self.norm(h)


# upstream: vllm/model_executor/models/llama.py:501 — LlamaForCausalLM
class LlamaForCausalLM(nn.Module):
    """The decoder plus the vocabulary projection."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor,
        kv_caches: list[torch.Tensor],
        md: AttentionMetadata,
    ) -> torch.Tensor:
        """Hidden states; logits are computed later, only for rows that sample."""
        return self.model(input_ids, positions, kv_caches, md)

    # upstream: vllm/model_executor/models/llama.py:577 — LlamaForCausalLM.compute_logits()
    def compute_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``[R, hidden]`` → float32 logits ``[R, vocab]``."""
        return self.lm_head(hidden).float()

    # upstream: vllm/model_executor/models/llama.py:436 — LlamaModel.load_weights()
    def load_weights(self, weights: Iterable[tuple[str, torch.Tensor]]) -> set[str]:
        """Copy checkpoint tensors into parameters; return the names filled.

        Raises:
            ValueError: On a tensor with no matching parameter, or a shape
                mismatch — a silently skipped weight would leave random values.
        """
        params = dict(self.named_parameters())
        loaded: set[str] = set()
        for name, tensor in weights:
            if "rotary_emb." in name:
                continue
            if name == "lm_head.weight" and self.config.tie_word_embeddings:
                continue
            for ckpt_part, fused_part, shard in STACKED_PARAMS:
                if ckpt_part in name:
                    target = name.replace(ckpt_part, fused_part)
                    module = self.get_submodule(target.rsplit(".", 1)[0])
                    module.load_shard(_param(params, target), shard, tensor)
                    loaded.add(f"{target}:{shard}")
                    break
            else:
                _copy_into(_param(params, name), tensor, name)
                loaded.add(name)
        return loaded


def _param(params: dict[str, nn.Parameter], name: str) -> nn.Parameter:
    """Look a parameter up, with an error that names the unexpected tensor."""
    if name not in params:
        raise ValueError(f"checkpoint tensor {name!r} has no matching parameter")
    return params[name]


def _copy_into(param: nn.Parameter, tensor: torch.Tensor, name: str) -> None:
    """Copy with a shape check (``copy_`` would broadcast some mismatches)."""
    if param.shape != tensor.shape:
        raise ValueError(f"{name}: checkpoint shape {tuple(tensor.shape)} != {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(tensor)
