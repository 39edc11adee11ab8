"""The model runner: per-step inputs, the forward pass, per-request sampling state."""
