"""annotate: keep source citations into vLLM true, and render them beside the code they cite."""

__version__ = "0.1.0"
