"""The Llama-style model, its layers, and checkpoint loading."""
