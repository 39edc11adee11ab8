"""Batched multi-LoRA: PEFT adapters applied per request equal merging them into the weights."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from minivllm.config import CacheConfig
from minivllm.core.sched.output import SchedulerOutput
from minivllm.lora.layers import LinearWithLoRA
from minivllm.lora.lora_model import (
    LoRALayerWeights,
    LoRAModel,
    parse_fine_tuned_lora_name,
)
from minivllm.lora.model_manager import LoRAModelManager
from minivllm.lora.peft_helper import PEFTHelper
from minivllm.lora.punica_wrapper import NO_LORA, PunicaWrapper
from minivllm.lora.request import LoRARequest
from minivllm.model.layers import FusedLinear
from minivllm.model.loader import load_model
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams
from minivllm.worker.model_runner import allocate_kv_cache, prepare_inputs

ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _make_adapter(hf_model, path: Path, seed: int, **lora_kwargs) -> nn.Module:
    """Save a random PEFT adapter for ``hf_model`` to ``path``; return the merged HF model."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft_model = get_peft_model(
        copy.deepcopy(hf_model), LoraConfig(init_lora_weights=False, **lora_kwargs)
    )
    # PEFT's random init leaves deltas tiny next to the 0.2-scale base weights; enlarge
    # them so a missing or misplaced adapter changes the logits far beyond 1e-4.
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.mul_(4.0)
    peft_model.save_pretrained(path)
    return peft_model.merge_and_unload().eval()


@pytest.fixture(scope="module")
def adapters(hf_model, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[LoRARequest, nn.Module]]:
    """Three PEFT adapters (different ranks, targets, rsLoRA) and their merged references."""
    root = tmp_path_factory.mktemp("adapters")
    specs = {
        "all": {"r": 4, "lora_alpha": 8, "target_modules": ALL_TARGETS},
        "attn": {"r": 8, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]},
        "mlp-rs": {"r": 2, "lora_alpha": 3, "target_modules": ["up_proj", "down_proj", "k_proj"], "use_rslora": True},
    }
    out = {}
    for i, (name, kwargs) in enumerate(specs.items(), start=1):
        merged = _make_adapter(hf_model, root / name, seed=100 + i, **kwargs)
        out[name] = (LoRARequest(name, i, str(root / name)), merged)
    return out


def _paged_logits(model: nn.Module, prompts: list[list[int]], block_size: int = 4) -> list[torch.Tensor]:
    """Every position's logits for several prompts prefilled together in one paged batch."""
    tables, next_block = [], 1
    for p in prompts:
        n = -(-len(p) // block_size)
        tables.append(tuple(range(next_block, next_block + n)))
        next_block += n
    requests = tuple(Request(str(i), p, SamplingParams()) for i, p in enumerate(prompts))
    so = SchedulerOutput(
        requests=requests,
        num_scheduled_tokens=tuple(len(p) for p in prompts),
        num_computed_tokens=(0,) * len(prompts),
        block_ids=tuple(tables),
    )
    inputs = prepare_inputs(so, block_size)
    kv = allocate_kv_cache(model, CacheConfig(block_size, next_block))
    with torch.inference_mode():
        hidden = model(inputs.input_ids, inputs.positions, kv, inputs.attn_metadata)
        logits = model.compute_logits(hidden)
    return list(logits.split([len(p) for p in prompts]))


def test_batched_adapters_equal_merged_models(tiny_llama_dir: Path, hf_model, adapters) -> None:
    """In one batch mixing three adapters and none, each request's logits match its merged model within 1e-4."""
    model = load_model(tiny_llama_dir)
    manager = LoRAModelManager(model, max_loras=3, max_lora_rank=8)
    gen = torch.Generator().manual_seed(5)
    prompts = [torch.randint(3, 320, (n,), generator=gen).tolist() for n in (9, 5, 12, 7, 1, 6)]
    names = ["all", None, "attn", "all", "mlp-rs", None]
    reqs = [adapters[n][0] if n else None for n in names]
    manager.set_active_adapters(reqs, [len(p) for p in prompts])
    assert len(manager.punica.seg_slots) == 3, "one segment per distinct adapter"
    ours = _paged_logits(model, prompts)
    for prompt, name, got in zip(prompts, names, ours):
        reference = adapters[name][1] if name else hf_model
        with torch.no_grad():
            want = reference(torch.tensor([prompt])).logits[0]
        torch.testing.assert_close(got, want, atol=1e-4, rtol=0, msg=f"adapter {name}")
    # The adapters really change the output (so the comparison above is not vacuous).
    with torch.no_grad():
        base = hf_model(torch.tensor([prompts[0]])).logits[0]
    assert (ours[0] - base).abs().max() > 1e-2


def test_lru_slot_reuse_keeps_results(tiny_llama_dir: Path, hf_model, adapters) -> None:
    """With one slot, switching adapters between steps reloads the slot with the right weights."""
    model = load_model(tiny_llama_dir)
    manager = LoRAModelManager(model, max_loras=1, max_lora_rank=8)
    prompt = [5, 17, 99, 240, 3, 8]
    for name in ["attn", "all", "attn"]:
        manager.set_active_adapters([adapters[name][0]], [len(prompt)])
        got = _paged_logits(model, [prompt])[0]
        with torch.no_grad():
            want = adapters[name][1](torch.tensor([prompt])).logits[0]
        torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    assert manager.lora_index_to_id == [adapters["attn"][0].lora_int_id]


def test_too_many_adapters_in_one_step_is_refused(tiny_llama_dir: Path, adapters) -> None:
    """A step may not use more adapters than there are slots."""
    manager = LoRAModelManager(load_model(tiny_llama_dir), max_loras=2, max_lora_rank=8)
    reqs = [adapters[n][0] for n in ("all", "attn", "mlp-rs")]
    with pytest.raises(RuntimeError, match="slots"):
        manager.set_active_adapters(reqs, [1, 1, 1])


def test_rank_above_limit_is_refused(tiny_llama_dir: Path, adapters) -> None:
    """An adapter of rank 8 does not fit a manager built for rank 4."""
    manager = LoRAModelManager(load_model(tiny_llama_dir), max_loras=1, max_lora_rank=4)
    with pytest.raises(ValueError, match="max_lora_rank"):
        manager.set_active_adapters([adapters["attn"][0]], [3])


def test_fused_layer_delta_is_block_diagonal() -> None:
    """A fused q/k/v layer adds each slice's own B A x to its rows only; base-only tokens are untouched."""
    torch.manual_seed(0)
    base = FusedLinear(6, {"q": 4, "k": 2, "v": 2}, bias=True)
    punica = PunicaWrapper()
    layer = LinearWithLoRA(base, base.shard_offsets, max_loras=2, max_rank=3, punica=punica)
    wq = LoRALayerWeights("q_proj", torch.randn(3, 6), torch.randn(4, 3), 0.5)
    wv = LoRALayerWeights("v_proj", torch.randn(2, 6), torch.randn(2, 2), 2.0)
    layer.set_lora(1, {"q": wq, "v": wv})
    x = torch.randn(5, 6)
    punica.update_metadata(torch.tensor([1, NO_LORA, 1, NO_LORA, 1]))
    with torch.no_grad():
        y = layer(x)
        merged = base.weight + torch.cat([wq.delta_weight(), torch.zeros(2, 6), wv.delta_weight()])
        torch.testing.assert_close(y[[0, 2, 4]], x[[0, 2, 4]] @ merged.T + base.bias)
        torch.testing.assert_close(y[[1, 3]], base(x[[1, 3]]))


def test_punica_groups_tokens_by_slot() -> None:
    """Tokens are ordered by slot, stable within a slot, and base-only tokens are dropped."""
    punica = PunicaWrapper()
    punica.update_metadata(torch.tensor([2, NO_LORA, 0, 2, 0, NO_LORA]))
    assert punica.order.tolist() == [2, 4, 0, 3]
    assert (punica.seg_slots, punica.seg_lens) == ([0, 2], [2, 2])
    punica.update_metadata(torch.tensor([NO_LORA, NO_LORA]))
    assert not punica.has_lora_tokens


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", ("model.layers.0.self_attn.q_proj", True)),
        ("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", ("model.layers.1.mlp.down_proj", False)),
        ("base_model.model.model.layers.1.mlp.up_proj.lora_A.default.weight", ("model.layers.1.mlp.up_proj", True)),
    ],
)
def test_parse_peft_tensor_names(name: str, expected: tuple[str, bool]) -> None:
    """PEFT tensor names map to the base model's module names."""
    assert parse_fine_tuned_lora_name(name) == expected


def test_non_lora_tensor_name_is_refused() -> None:
    """A saved full module (modules_to_save) is not silently ignored."""
    with pytest.raises(ValueError, match="not a LoRA"):
        parse_fine_tuned_lora_name("base_model.model.lm_head.weight")


@pytest.mark.parametrize(
    "extra", [{"use_dora": True}, {"bias": "all"}, {"modules_to_save": ["lm_head"]}, {"rank_pattern": {"q_proj": 2}}]
)
def test_peft_config_rejects_unsupported_features(extra: dict) -> None:
    """Features that would change the math are refused rather than ignored."""
    with pytest.raises(ValueError, match="unsupported"):
        PEFTHelper.from_dict({"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], **extra})


def test_scaling_plain_and_rslora() -> None:
    """alpha / r normally, alpha / sqrt(r) with rsLoRA."""
    assert PEFTHelper.from_dict({"r": 4, "lora_alpha": 8}).scaling == 2.0
    assert PEFTHelper.from_dict({"r": 4, "lora_alpha": 8, "use_rslora": True}).scaling == 4.0


def test_adapter_for_unknown_module_is_refused(tmp_path: Path, tiny_llama_dir: Path) -> None:
    """An adapter targeting the vocabulary projection cannot be registered."""
    from safetensors.torch import save_file

    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 2, "target_modules": ["lm_head"]}))
    save_file(
        {"base_model.model.lm_head.lora_A.weight": torch.zeros(2, 64),
         "base_model.model.lm_head.lora_B.weight": torch.zeros(320, 2)},
        str(tmp_path / "adapter_model.safetensors"),
    )
    lora = LoRAModel.from_local_checkpoint(tmp_path, 1)
    manager = LoRAModelManager(load_model(tiny_llama_dir), max_loras=1, max_lora_rank=2)
    with pytest.raises(ValueError, match="cannot be adapted"):
        manager.add_adapter(lora)


def _hf_greedy(model: nn.Module, prompt: list[int], max_tokens: int) -> list[int]:
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=max_tokens, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    return out[0, len(prompt):].tolist()


def test_generate_with_mixed_adapters_matches_merged_models(tiny_llama_dir: Path, hf_model, adapters) -> None:
    """LLM.generate with a different adapter (or none) per prompt equals each merged model's greedy output."""
    from minivllm import LLM, SamplingParams

    llm = LLM(tiny_llama_dir, block_size=4, max_model_len=96, enable_lora=True, max_loras=2, max_lora_rank=8,
              max_num_batched_tokens=32)
    shared = [9, 41, 77, 200, 13, 5, 66, 180]
    prompts = [shared + [i, i + 1] for i in range(3, 9)]
    names = ["all", "attn", None, "mlp-rs", "all", None]
    loras = [adapters[n][0] if n else None for n in names]
    params = SamplingParams(temperature=0, max_tokens=10, ignore_eos=True)
    outs = llm.generate(prompts, params, lora_request=loras)
    for prompt, name, out in zip(prompts, names, outs):
        reference = adapters[name][1] if name else hf_model
        assert list(out.outputs[0].token_ids) == _hf_greedy(reference, prompt, 10), name
    # Samples of an n > 1 request fork from the adapted prompt and keep the adapter.
    (forked,) = llm.generate([prompts[0]], SamplingParams(temperature=0, max_tokens=10, ignore_eos=True, n=2),
                             lora_request=adapters["all"][0])
    assert [list(c.token_ids) for c in forked.outputs] == [list(outs[0].outputs[0].token_ids)] * 2
    # Prefix-cache hits never cross adapters: the same tokens give other keys and values.
    fresh = [17, 18, 19, 20, 21, 22, 23, 24, 25]
    (first,) = llm.generate([fresh], params, lora_request=adapters["attn"][0])
    (other,) = llm.generate([fresh], params, lora_request=adapters["mlp-rs"][0])
    (again,) = llm.generate([fresh], params, lora_request=adapters["attn"][0])
    assert (first.num_cached_tokens, other.num_cached_tokens, again.num_cached_tokens) == (0, 0, 8)
    assert again.outputs[0].token_ids == first.outputs[0].token_ids != other.outputs[0].token_ids


def test_adapter_without_enable_lora_is_refused(tiny_llama_dir: Path, adapters) -> None:
    """Asking for an adapter from an engine built without LoRA support is a clear error."""
    from minivllm import LLM

    llm = LLM(tiny_llama_dir, block_size=4, max_model_len=64)
    with pytest.raises(ValueError, match="enable_lora"):
        llm.generate([[5, 6, 7]], lora_request=adapters["all"][0])
