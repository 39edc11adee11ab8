"""Turning logits into tokens: batched transforms and the sampler."""
