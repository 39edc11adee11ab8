"""GPU kernels (Triton) for minivllm, with the plain-PyTorch references they are tested against.

Importing this package does not import Triton; the kernel module is loaded
only when a CUDA engine first needs it, so the CPU engine runs without it.
"""
