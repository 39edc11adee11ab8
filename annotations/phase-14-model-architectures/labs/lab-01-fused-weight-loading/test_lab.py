"""Lab 14.01 tests: HF-named tensors load into fused layers that compute the unfused math."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from minivllm.config import ModelConfig

from annotator.labs import load_impl

impl = load_impl(__file__)


def config(tied: bool = False) -> ModelConfig:
    """A tiny GQA Llama: hidden 16, 4 heads of 4, 2 KV heads, 2 layers."""
    return ModelConfig(
        vocab_size=40, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=4, rms_norm_eps=1e-6,
        rope_theta=10000.0, max_position_embeddings=64, tie_word_embeddings=tied,
    )  # fmt: skip


def hf_state_dict(cfg: ModelConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors under Hugging Face Llama names (separate q/k/v and gate/up)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    h, i, q, kv = cfg.hidden_size, cfg.intermediate_size, 16, 8
    sd = {"model.embed_tokens.weight": r(cfg.vocab_size, h), "model.norm.weight": r(h), "lm_head.weight": r(cfg.vocab_size, h)}
    for n in range(cfg.num_hidden_layers):
        p = f"model.layers.{n}."
        sd |= {
            p + "self_attn.q_proj.weight": r(q, h), p + "self_attn.k_proj.weight": r(kv, h),
            p + "self_attn.v_proj.weight": r(kv, h), p + "self_attn.o_proj.weight": r(h, q),
            p + "mlp.gate_proj.weight": r(i, h), p + "mlp.up_proj.weight": r(i, h),
            p + "mlp.down_proj.weight": r(h, i), p + "input_layernorm.weight": r(h),
            p + "post_attention_layernorm.weight": r(h),
            p + "self_attn.rotary_emb.inv_freq": r(2),
        }  # fmt: skip
    return sd


def test_fused_layers_compute_the_unfused_math():
    """qkv_proj(x) == [q_proj(x), k_proj(x), v_proj(x)] and the MLP == down(silu(gate x) * up x)."""
    cfg = config()
    model = impl.LlamaForCausalLM(cfg)
    sd = hf_state_dict(cfg)
    model.load_weights(sd.items())
    x = torch.randn(3, 16, generator=torch.Generator().manual_seed(1))
    p = "model.layers.1."
    layer = model.model.layers[1]
    with torch.no_grad():
        expected_qkv = torch.cat([x @ sd[p + f"self_attn.{n}_proj.weight"].T for n in "qkv"], -1)
        torch.testing.assert_close(layer.self_attn.qkv_proj(x), expected_qkv)
        gate, up, down = (sd[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up", "down"))
        torch.testing.assert_close(layer.mlp(x), (F.silu(x @ gate.T) * (x @ up.T)) @ down.T)


def test_every_parameter_filled_and_plain_ones_equal():
    """Unfused names are copied verbatim; every model parameter received data; rotary buffers skipped."""
    cfg = config()
    model = impl.LlamaForCausalLM(cfg)
    sd = hf_state_dict(cfg, seed=2)
    loaded = model.load_weights(sd.items())
    params = dict(model.named_parameters())
    for name in ("model.embed_tokens.weight", "lm_head.weight", "model.layers.0.self_attn.o_proj.weight"):
        assert name in loaded and torch.equal(params[name], sd[name])
    assert "model.layers.0.self_attn.qkv_proj.weight:k" in loaded
    filled = {n.split(":")[0] for n in loaded}
    assert filled == set(params)
    assert not any("rotary" in n for n in loaded)


def test_tied_embeddings_skip_lm_head():
    """With tied embeddings the checkpoint's lm_head is ignored and the head is the embedding."""
    cfg = config(tied=True)
    model = impl.LlamaForCausalLM(cfg)
    sd = hf_state_dict(cfg, seed=3)
    loaded = model.load_weights(sd.items())
    assert "lm_head.weight" not in loaded
    assert torch.equal(model.lm_head.weight, sd["model.embed_tokens.weight"])


def test_unknown_and_misshapen_tensors_are_refused():
    """A tensor with no parameter, or with the wrong shape, raises ValueError."""
    model = impl.LlamaForCausalLM(config())
    with pytest.raises(ValueError, match="mystery.*no matching parameter"):
        model.load_weights([("model.mystery.weight", torch.zeros(3))])
    with pytest.raises(ValueError):
        model.load_weights([("model.norm.weight", torch.zeros(17))])
    with pytest.raises(ValueError):  # would broadcast silently into every element
        model.load_weights([("model.norm.weight", torch.zeros(1))])
