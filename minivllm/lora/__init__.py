"""Batched multi-LoRA: many fine-tuned adapters served by one base model in one batch.

A LoRA adapter changes a linear layer ``y = W x`` into ``y = W x + B A x``
with thin matrices ``A`` (``r x in``) and ``B`` (``out x r``). Instead of
merging ``B A`` into ``W`` (one model per adapter), the base matmul runs once
for the whole batch and each token adds its own adapter's ``B A x``. The
tokens of a batch are grouped by adapter, so each adapter's two thin matmuls
run once per layer over all of its tokens (the SGMV idea of Punica/S-LoRA).
"""
