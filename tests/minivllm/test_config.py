"""Tests for minivllm.config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from minivllm.config import (
    EngineArgs,
    LoRAConfig,
    ModelConfig,
    SchedulerConfig,
    SpeculativeConfig,
    default_num_blocks,
    kv_bytes_per_block,
)

BASE = {
    "model_type": "llama",
    "vocab_size": 300,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 128,
}


def test_rope_theta_from_new_and_old_layouts() -> None:
    """rope_theta is read from rope_parameters (transformers 5) or the top level."""
    new = ModelConfig.from_dict({**BASE, "rope_parameters": {"rope_type": "default", "rope_theta": 5e5}})
    old = ModelConfig.from_dict({**BASE, "rope_theta": 1e4})
    assert new.rope_theta == 5e5 and old.rope_theta == 1e4


def test_defaults_for_kv_heads_and_head_dim() -> None:
    """Missing kv-head count means plain MHA; missing head_dim is hidden/heads."""
    cfg = ModelConfig.from_dict(BASE)
    assert cfg.num_key_value_heads == 4 and cfg.head_dim == 16


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"model_type": "gpt2"}, "model_type"),
        ({"hidden_act": "gelu"}, "hidden_act"),
        ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "rope_scaling.rope_type"),
        ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4}}, "rope_parameters.rope_type"),
        ({"rope_scaling": {"type": "linear", "factor": 2.0}}, "rope_scaling.rope_type"),
        ({"rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.5}}, "partial_rotary_factor"),
        ({"pretraining_tp": 2}, "pretraining_tp"),
        ({"final_logit_softcapping": 30.0}, "final_logit_softcapping"),
        ({"logits_scaling": 8.0}, "logits_scaling"),
        ({"use_qk_norm": True}, "use_qk_norm"),
        ({"layer_types": ["sliding_attention", "full_attention"]}, "layer_types"),
        ({"model_type": "mistral", "sliding_window": 0}, "sliding_window"),
    ],
)
def test_unsupported_variants_are_rejected_naming_the_key(extra: dict, key: str) -> None:
    """Settings we would compute wrongly raise one line naming the key instead of loading."""
    with pytest.raises(ValueError, match=key.replace(".", r"\.")) as info:
        ModelConfig.from_dict({**BASE, **extra})
    assert "\n" not in str(info.value)


def test_neutral_values_of_math_keys_are_accepted() -> None:
    """A key present with its no-op value (as transformers writes it) does not refuse the checkpoint."""
    cfg = ModelConfig.from_dict(
        {**BASE, "pretraining_tp": 1, "attention_dropout": 0.0, "sliding_window": None,
         "rope_parameters": {"rope_type": "default", "rope_theta": 1e4}}
    )
    assert cfg.sliding_window is None
    assert ModelConfig.from_dict({**BASE, "model_type": "mistral", "sliding_window": 16}).sliding_window == 16


def test_refusal_comes_before_any_weight_is_read(tmp_path: Path) -> None:
    """An unsupported key is reported with the config path, even when no weights exist at all."""
    (tmp_path / "config.json").write_text(json.dumps({**BASE, "rope_scaling": {"rope_type": "dynamic"}}))
    with pytest.raises(ValueError, match=r"config\.json: config key rope_scaling\.rope_type='dynamic'"):
        EngineArgs(str(tmp_path)).create_engine_config()


def test_missing_config_names_the_path(tmp_path: Path) -> None:
    """A directory without config.json gives an error naming it."""
    with pytest.raises(FileNotFoundError, match="config.json"):
        ModelConfig.from_dir(tmp_path)


def test_num_blocks_from_memory_is_capped_by_need() -> None:
    """The default pool is the smaller of what memory allows and what a full batch needs."""
    cfg = ModelConfig.from_dict(BASE)
    per_block = kv_bytes_per_block(cfg, 16, torch.float32)
    assert per_block == 2 * 2 * 16 * 4 * 16 * 4
    assert default_num_blocks(cfg, 16, torch.float32, 4, 128, 10 * per_block) == 10
    assert default_num_blocks(cfg, 16, torch.float32, 4, 128, 1 << 30) == 4 * 8 + 1


def test_engine_args_reject_a_pool_smaller_than_one_sequence(tmp_path: Path) -> None:
    """A pool that cannot hold one max-length sequence is refused up front."""
    (tmp_path / "config.json").write_text(json.dumps(BASE))
    with pytest.raises(ValueError, match="cannot hold"):
        EngineArgs(str(tmp_path), block_size=16, num_kv_blocks=4).create_engine_config()
    cfg = EngineArgs(str(tmp_path), block_size=16, num_kv_blocks=9, max_model_len=1000).create_engine_config()
    assert cfg.scheduler.max_model_len == 128 and cfg.cache.num_blocks == 9


def test_scheduler_config_checks() -> None:
    """Settings that would stall the scheduler are rejected."""
    with pytest.raises(ValueError):
        SchedulerConfig(max_num_batched_tokens=64, max_model_len=128, enable_chunked_prefill=False)
    with pytest.raises(ValueError):
        SchedulerConfig(
            max_num_batched_tokens=256, max_model_len=128,
            enable_chunked_prefill=False, long_prefill_token_threshold=8,
        )


def test_speculative_and_lora_settings_reach_the_engine_config(tmp_path: Path) -> None:
    """A speculative_config dict and enable_lora become validated config records."""
    (tmp_path / "config.json").write_text(json.dumps(BASE))
    cfg = EngineArgs(str(tmp_path), speculative_config={"num_speculative_tokens": 3}, enable_lora=True,
                     max_loras=2, max_lora_rank=8).create_engine_config()
    assert cfg.speculative == SpeculativeConfig(num_speculative_tokens=3)
    assert cfg.lora == LoRAConfig(max_loras=2, max_lora_rank=8)
    plain = EngineArgs(str(tmp_path)).create_engine_config()
    assert plain.speculative is None and plain.lora is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_speculative_tokens": 0},
        {"num_speculative_tokens": 2, "method": "eagle"},
        {"num_speculative_tokens": 2, "prompt_lookup_min": 4, "prompt_lookup_max": 2},
    ],
)
def test_speculative_config_checks(kwargs: dict) -> None:
    """Unsupported methods and inconsistent n-gram bounds are refused."""
    with pytest.raises(ValueError):
        SpeculativeConfig(**kwargs)
