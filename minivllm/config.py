"""Engine configuration: the model's shape, the KV cache, the scheduler.

Each is a frozen record built once at start-up; nothing downstream may
change them, so every component sees the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from minivllm.core.kv_cache_utils import cdiv

SUPPORTED_MODEL_TYPES = ("llama", "mistral")


# upstream: vllm/config/model.py:117 — ModelConfig
@dataclass(frozen=True)
class ModelConfig:
    """The architecture numbers read from a checkpoint's ``config.json``."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    max_position_embeddings: int
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False
    eos_token_id: int | None = None

    sliding_window: int | None = None

    @classmethod
    def from_dict(cls, cfg: dict) -> ModelConfig:
        """Validate a parsed ``config.json`` and keep the fields we use.

        Raises:
            ValueError: One line naming the first key whose value would make
                this engine compute different logits from the checkpoint's
                reference implementation (model type, activation, RoPE
                variant, soft-capping, ...), rather than loading it wrongly.
        """
        model_type = cfg.get("model_type")
        if model_type not in SUPPORTED_MODEL_TYPES:
            raise ValueError(f"model_type {model_type!r} not supported; use one of {SUPPORTED_MODEL_TYPES}")
        check_supported(cfg)
        rope = rope_parameters(cfg)
        heads = cfg["num_attention_heads"]
        eos = cfg.get("eos_token_id")
        return cls(
            vocab_size=cfg["vocab_size"],
            hidden_size=cfg["hidden_size"],
            intermediate_size=cfg["intermediate_size"],
            num_hidden_layers=cfg["num_hidden_layers"],
            num_attention_heads=heads,
            num_key_value_heads=cfg.get("num_key_value_heads") or heads,
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
            rms_norm_eps=cfg.get("rms_norm_eps", 1e-6),
            rope_theta=rope.get("rope_theta", cfg.get("rope_theta", 10000.0)),
            max_position_embeddings=cfg.get("max_position_embeddings", 2048),
            tie_word_embeddings=cfg.get("tie_word_embeddings", False),
            attention_bias=cfg.get("attention_bias", False),
            mlp_bias=cfg.get("mlp_bias", False),
            eos_token_id=eos[0] if isinstance(eos, list) else eos,
            sliding_window=cfg.get("sliding_window"),
        )

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> ModelConfig:
        """Read ``config.json`` from a checkpoint directory."""
        path = Path(model_dir) / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no config.json; is this a Hugging Face checkpoint directory?")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


# Keys that some Llama-family checkpoints carry and that change the math when
# they hold anything but the neutral value(s) listed: this engine implements
# none of them, so it refuses such a checkpoint instead of ignoring the key.
NEUTRAL_VALUES: dict[str, tuple[Any, ...]] = {
    "hidden_act": (None, "silu"),
    "pretraining_tp": (None, 1),
    "partial_rotary_factor": (None, 1, 1.0),
    "attn_logit_softcapping": (None,),
    "final_logit_softcapping": (None,),
    "logits_scaling": (None, 1, 1.0),
    "embedding_multiplier": (None, 1, 1.0),
    "residual_multiplier": (None, 1, 1.0),
    "attention_multiplier": (None,),
    "query_pre_attn_scalar": (None,),
    "use_qk_norm": (None, False),
    "qk_layernorm": (None, False),
    "attention_chunk_size": (None,),
    "no_rope_layers": (None,),
    "layer_types": (None,),
    "moe_layers": (None,),
    "num_local_experts": (None, 0, 1),
}


def check_supported(cfg: dict) -> None:
    """Raise, naming the key, if ``cfg`` asks for math this engine does not do."""
    for key, neutral in NEUTRAL_VALUES.items():
        if cfg.get(key) not in neutral:
            raise ValueError(f"config key {key}={cfg[key]!r} not supported (it changes the model's math)")
    for key in ("rope_parameters", "rope_scaling"):
        rope = cfg.get(key) or {}
        kind = rope.get("rope_type", rope.get("type", "default"))
        if kind != "default":
            raise ValueError(f"config key {key}.rope_type={kind!r} not supported (only 'default' RoPE)")
        if rope.get("partial_rotary_factor", 1.0) != 1.0:
            raise ValueError(f"config key {key}.partial_rotary_factor={rope['partial_rotary_factor']!r} not supported")
    window = cfg.get("sliding_window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise ValueError(f"config key sliding_window={window!r} must be a positive integer or null")


def rope_parameters(cfg: dict) -> dict:
    """The RoPE settings, from ``rope_parameters`` (transformers 5) or ``rope_scaling`` (older)."""
    return cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}


# upstream: vllm/config/cache.py:42 — CacheConfig
@dataclass(frozen=True)
class CacheConfig:
    """Shape of the paged KV cache.

    Attributes:
        block_size: Tokens per block.
        num_blocks: Physical blocks including the null block.
        enable_prefix_caching: Reuse full blocks across requests.
    """

    block_size: int
    num_blocks: int
    enable_prefix_caching: bool = True


# upstream: vllm/config/scheduler.py:26 — SchedulerConfig
@dataclass(frozen=True)
class SchedulerConfig:
    """Limits of one scheduling step.

    Attributes:
        max_num_batched_tokens: Token budget of one forward pass.
        max_num_seqs: Most requests running at once.
        max_model_len: Longest sequence (prompt + output) allowed.
        long_prefill_token_threshold: Per-request cap on tokens in one step,
            so one long prompt cannot take the whole budget; 0 disables.
        enable_chunked_prefill: Allow a prompt to be split across steps.
    """

    max_num_batched_tokens: int = 512
    max_num_seqs: int = 64
    max_model_len: int = 2048
    long_prefill_token_threshold: int = 0
    enable_chunked_prefill: bool = True

    def __post_init__(self) -> None:
        if self.max_num_batched_tokens < 1 or self.max_num_seqs < 1:
            raise ValueError("max_num_batched_tokens and max_num_seqs must be >= 1")
        if not self.enable_chunked_prefill and self.max_num_batched_tokens < self.max_model_len:
            raise ValueError(
                "without chunked prefill, max_num_batched_tokens must be >= max_model_len "
                f"({self.max_num_batched_tokens} < {self.max_model_len}), or long prompts never run"
            )
        if not self.enable_chunked_prefill and self.long_prefill_token_threshold > 0:
            raise ValueError("long_prefill_token_threshold splits prompts: it needs chunked prefill")


def kv_bytes_per_block(model: ModelConfig, block_size: int, dtype: torch.dtype) -> int:
    """Bytes one block occupies across all layers (keys and values)."""
    elem = torch.empty((), dtype=dtype).element_size()
    return 2 * model.num_hidden_layers * block_size * model.num_key_value_heads * model.head_dim * elem


def default_num_blocks(
    model: ModelConfig,
    block_size: int,
    dtype: torch.dtype,
    max_num_seqs: int,
    max_model_len: int,
    kv_cache_memory_bytes: int,
) -> int:
    """Blocks that fit the memory budget, but no more than a full batch needs."""
    by_memory = kv_cache_memory_bytes // kv_bytes_per_block(model, block_size, dtype)
    by_need = max_num_seqs * cdiv(max_model_len, block_size) + 1
    return max(2, min(by_memory, by_need))


def resolve_dtype(dtype: torch.dtype | str | None, device: str) -> torch.dtype:
    """None means float32 on the CPU and bfloat16 on CUDA; names like ``"bfloat16"`` are accepted."""
    if dtype is None or dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if isinstance(dtype, str):
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ValueError(f"dtype {dtype!r} is not a torch dtype")
        return resolved
    return dtype


def weight_bytes(model: ModelConfig, dtype: torch.dtype) -> int:
    """Bytes of the model's weights (biases and norms aside), from its shape alone."""
    h, inter, d = model.hidden_size, model.intermediate_size, model.head_dim
    qkv = h * d * (model.num_attention_heads + 2 * model.num_key_value_heads)
    per_layer = qkv + model.num_attention_heads * d * h + 3 * h * inter
    embed = model.vocab_size * h * (1 if model.tie_word_embeddings else 2)
    return (embed + model.num_hidden_layers * per_layer) * torch.empty((), dtype=dtype).element_size()


# upstream: vllm/v1/worker/gpu_worker.py:358 — Worker.determine_available_memory()
def cuda_kv_cache_budget(
    model: ModelConfig, dtype: torch.dtype, device: str, utilization: float, max_tokens: int, max_seqs: int
) -> int:
    """Bytes left for the KV pool: the allowed share of the device, less what is in use, the weights,
    and a bound on one step's activations (float32 logits of every sampling row, MLP intermediates)."""
    free, total = torch.cuda.mem_get_info(torch.device(device))
    activations = max_tokens * (4 * model.intermediate_size + 8 * model.hidden_size) * 4
    logits = 4 * max_seqs * model.vocab_size * 4 * 4
    reserve = activations + logits + (512 << 20)
    budget = int(utilization * total) - (total - free) - weight_bytes(model, dtype) - reserve
    if budget <= 0:
        raise ValueError(f"gpu_memory_utilization={utilization} leaves no memory for the KV cache on {device}")
    return budget


# upstream: vllm/config/speculative.py:74 — SpeculativeConfig
@dataclass(frozen=True)
class SpeculativeConfig:
    """Speculative decoding with a prompt-lookup (n-gram) proposer.

    Attributes:
        num_speculative_tokens: Draft tokens verified per pass (``k``).
        method: Only ``"ngram"``: drafts copied from the request's own text.
        prompt_lookup_min: Shortest suffix matched against earlier text.
        prompt_lookup_max: Longest suffix matched.
    """

    num_speculative_tokens: int
    method: str = "ngram"
    prompt_lookup_min: int = 2
    prompt_lookup_max: int = 5

    def __post_init__(self) -> None:
        if self.method != "ngram":
            raise ValueError(f"speculative method {self.method!r} not supported (only 'ngram')")
        if self.num_speculative_tokens < 1:
            raise ValueError(f"num_speculative_tokens must be >= 1, got {self.num_speculative_tokens}")
        if not 1 <= self.prompt_lookup_min <= self.prompt_lookup_max:
            raise ValueError("need 1 <= prompt_lookup_min <= prompt_lookup_max")


# upstream: vllm/config/lora.py:31 — LoRAConfig
@dataclass(frozen=True)
class LoRAConfig:
    """Room for adapters in the model.

    Attributes:
        max_loras: Distinct adapters usable in one step (slots per layer).
        max_lora_rank: Largest adapter rank accepted.
    """

    max_loras: int = 1
    max_lora_rank: int = 16

    def __post_init__(self) -> None:
        if self.max_loras < 1 or self.max_lora_rank < 1:
            raise ValueError("max_loras and max_lora_rank must be >= 1")


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine is built from."""

    model_dir: str
    model: ModelConfig
    cache: CacheConfig
    scheduler: SchedulerConfig
    dtype: torch.dtype = torch.float32
    seed: int = 0
    speculative: SpeculativeConfig | None = None
    lora: LoRAConfig | None = None
    device: str = "cpu"
    enforce_eager: bool = False


# upstream: vllm/engine/arg_utils.py:412 — EngineArgs
@dataclass(frozen=True)
class EngineArgs:
    """User-facing knobs; ``create_engine_config`` turns them into an ``EngineConfig``.

    Attributes:
        model: Checkpoint directory (config.json + safetensors).
        block_size: Tokens per KV block.
        num_kv_blocks: Blocks in the pool (null block included); None derives
            it from ``kv_cache_memory_bytes``.
        kv_cache_memory_bytes: Memory budget for the KV cache.
        max_num_batched_tokens: Token budget per step.
        max_num_seqs: Most requests in flight.
        max_model_len: Longest sequence; None means the model's limit.
        long_prefill_token_threshold: Per-request token cap per step (0 = off).
        enable_chunked_prefill: Split long prompts across steps.
        enable_prefix_caching: Reuse cached prompt blocks across requests.
        dtype: Weights and KV cache dtype.
        seed: Seed for requests that sample without their own seed.
        speculative_config: ``SpeculativeConfig`` fields as a dict (e.g.
            ``{"method": "ngram", "num_speculative_tokens": 4}``), or None.
        enable_lora: Make the model's linear layers accept adapters.
        max_loras: Distinct adapters per step.
        max_lora_rank: Largest adapter rank.
        device: ``"cpu"`` or ``"cuda"`` (``"cuda:N"``): where weights, KV cache and sampling live.
        gpu_memory_utilization: On CUDA, the share of the device's memory the
            engine may fill (weights, activations, KV pool); sizes the pool
            unless ``num_kv_blocks`` is given.
        enforce_eager: On CUDA, never capture CUDA graphs for decode steps.
    """

    model: str
    block_size: int = 16
    num_kv_blocks: int | None = None
    kv_cache_memory_bytes: int = 1 << 30
    max_num_batched_tokens: int = 512
    max_num_seqs: int = 64
    max_model_len: int | None = None
    long_prefill_token_threshold: int = 0
    enable_chunked_prefill: bool = True
    enable_prefix_caching: bool = True
    dtype: torch.dtype | str | None = None
    seed: int = 0
    speculative_config: dict[str, Any] | None = None
    enable_lora: bool = False
    max_loras: int = 1
    max_lora_rank: int = 16
    device: str = "cpu"
    gpu_memory_utilization: float = 0.9
    enforce_eager: bool = False

    # upstream: vllm/engine/arg_utils.py:1697 — EngineArgs.create_engine_config()
    def create_engine_config(self) -> EngineConfig:
        """Resolve defaults against the checkpoint and check the pieces fit.

        Raises:
            ValueError: If the pool cannot hold even one full-length
                sequence (the scheduler would then never make progress).
        """
        model = ModelConfig.from_dir(self.model)
        max_len = min(self.max_model_len or model.max_position_embeddings, model.max_position_embeddings)
        dtype = resolve_dtype(self.dtype, self.device)
        budget = self.kv_cache_memory_bytes
        if self.device.startswith("cuda") and self.num_kv_blocks is None:
            budget = cuda_kv_cache_budget(
                model, dtype, self.device, self.gpu_memory_utilization, self.max_num_batched_tokens, self.max_num_seqs
            )
        num_blocks = self.num_kv_blocks or default_num_blocks(
            model, self.block_size, dtype, self.max_num_seqs, max_len, budget
        )
        if num_blocks - 1 < cdiv(max_len, self.block_size):
            raise ValueError(
                f"{num_blocks} KV blocks of {self.block_size} tokens cannot hold one "
                f"{max_len}-token sequence; raise num_kv_blocks or lower max_model_len"
            )
        scheduler = SchedulerConfig(
            max_num_batched_tokens=self.max_num_batched_tokens,
            max_num_seqs=self.max_num_seqs,
            max_model_len=max_len,
            long_prefill_token_threshold=self.long_prefill_token_threshold,
            enable_chunked_prefill=self.enable_chunked_prefill,
        )
        cache = CacheConfig(self.block_size, num_blocks, self.enable_prefix_caching)
        spec = SpeculativeConfig(**self.speculative_config) if self.speculative_config else None
        lora = LoRAConfig(self.max_loras, self.max_lora_rank) if self.enable_lora else None
        return EngineConfig(
            str(self.model), model, cache, scheduler, dtype, self.seed, spec, lora, self.device, self.enforce_eager
        )
