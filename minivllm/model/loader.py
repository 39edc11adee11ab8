"""Read a Hugging Face checkpoint directory into a ``LlamaForCausalLM``.

Weights are streamed tensor by tensor from the safetensors files (memory
mapped), so peak memory is the model plus one tensor, not two models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors import safe_open

from minivllm.config import ModelConfig
from minivllm.model.llama import STACKED_PARAMS, LlamaForCausalLM


# upstream: vllm/model_executor/model_loader/default_loader.py:97 — DefaultModelLoader._prepare_weights()
def list_weight_files(model_dir: str | Path) -> list[Path]:
    """The safetensors files of a checkpoint, sharded or not.

    Raises:
        FileNotFoundError: When the directory holds no safetensors weights.
    """
    root = Path(model_dir)
    index = root / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [root / s for s in shards]
    files = sorted(root.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{root}: no *.safetensors weights found")
    return files


# upstream: vllm/model_executor/model_loader/weight_utils.py:893 — safetensors_weights_iterator()
def safetensors_weights_iterator(files: list[Path]) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield ``(name, tensor)`` for every tensor of every file, one at a time."""
    for path in files:
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                yield name, f.get_tensor(name)


def expected_weights(model: LlamaForCausalLM) -> set[str]:
    """Names ``load_weights`` must report for a complete load (fused shards split out)."""
    names: set[str] = set()
    tied = model.config.tie_word_embeddings
    for name, _ in model.named_parameters(remove_duplicate=False):
        if tied and name == "lm_head.weight":
            continue
        shards = [shard for _, fused, shard in STACKED_PARAMS if fused in name]
        if shards:
            names.update(f"{name}:{shard}" for shard in shards)
        else:
            names.add(name)
    return names


# upstream: vllm/model_executor/model_loader/__init__.py:133 — get_model()
def load_model(
    model_dir: str | Path, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> LlamaForCausalLM:
    """Build the model from ``config.json`` and fill it from the safetensors files.

    On a GPU the model is built on the device in its final dtype first, and
    each checkpoint tensor is copied from the memory-mapped file straight
    into its parameter: no full copy of the weights ever sits in host memory.

    Raises:
        ValueError: If any parameter was not in the checkpoint.
    """
    cfg = ModelConfig.from_dir(model_dir)
    device = torch.device(device)
    if device.type == "cpu":
        model = LlamaForCausalLM(cfg)
    else:
        with torch.device(device):
            model = LlamaForCausalLM(cfg).to(dtype)
    loaded = model.load_weights(safetensors_weights_iterator(list_weight_files(model_dir)))
    missing = expected_weights(model) - loaded
    if missing:
        raise ValueError(f"{model_dir}: checkpoint lacks {sorted(missing)[:5]} ({len(missing)} in all)")
    return model.to(dtype).eval().requires_grad_(False)
