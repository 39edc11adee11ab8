"""Tests for minivllm.model.loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from minivllm.model.loader import list_weight_files, load_model, safetensors_weights_iterator


def _copy_config(src: Path, dst: Path) -> None:
    for name in ("config.json", "generation_config.json"):
        shutil.copy(src / name, dst / name)


def test_loaded_weights_equal_the_checkpoint(tiny_llama_dir: Path) -> None:
    """Every checkpoint tensor ends up in the model, fused projections included."""
    model = load_model(tiny_llama_dir)
    ckpt = load_file(tiny_llama_dir / "model.safetensors")
    attn = model.model.layers[1].self_attn
    q, k, v = (ckpt[f"model.layers.1.self_attn.{p}_proj.weight"] for p in "qkv")
    torch.testing.assert_close(attn.qkv_proj.weight, torch.cat([q, k, v]))
    mlp = model.model.layers[0].mlp
    gate, up = ckpt["model.layers.0.mlp.gate_proj.weight"], ckpt["model.layers.0.mlp.up_proj.weight"]
    torch.testing.assert_close(mlp.gate_up_proj.weight, torch.cat([gate, up]))
    torch.testing.assert_close(model.lm_head.weight, ckpt["lm_head.weight"])
    assert not any(p.requires_grad for p in model.parameters())


def test_sharded_checkpoint_via_index(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """A checkpoint split over shards with an index file loads the same as one file."""
    tensors = load_file(tiny_llama_dir / "model.safetensors")
    names = sorted(tensors)
    half = len(names) // 2
    shards = {"a.safetensors": names[:half], "b.safetensors": names[half:]}
    for fname, keys in shards.items():
        save_file({k: tensors[k].contiguous() for k in keys}, tmp_path / fname)
    weight_map = {k: f for f, keys in shards.items() for k in keys}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    _copy_config(tiny_llama_dir, tmp_path)
    assert [p.name for p in list_weight_files(tmp_path)] == ["a.safetensors", "b.safetensors"]
    loaded = dict(safetensors_weights_iterator(list_weight_files(tmp_path)))
    assert loaded.keys() == tensors.keys()
    torch.testing.assert_close(load_model(tmp_path).lm_head.weight, tensors["lm_head.weight"])


def test_missing_tensor_is_reported(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """A checkpoint lacking a parameter fails to load and says which."""
    tensors = load_file(tiny_llama_dir / "model.safetensors")
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, tmp_path / "model.safetensors")
    _copy_config(tiny_llama_dir, tmp_path)
    with pytest.raises(ValueError, match="up"):
        load_model(tmp_path)


def test_tied_embeddings_share_one_tensor(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """With tie_word_embeddings the head reuses the embedding and needs no lm_head tensor."""
    tensors = load_file(tiny_llama_dir / "model.safetensors")
    del tensors["lm_head.weight"]
    save_file(tensors, tmp_path / "model.safetensors")
    cfg = json.loads((tiny_llama_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "tie_word_embeddings": True}))
    model = load_model(tmp_path)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_no_weights_is_a_clear_error(tmp_path: Path) -> None:
    """A directory without safetensors files names the problem."""
    with pytest.raises(FileNotFoundError, match="safetensors"):
        list_weight_files(tmp_path)
