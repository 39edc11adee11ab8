"""Scheduling-side bookkeeping: blocks, KV-cache manager, scheduler (no tensors here)."""
