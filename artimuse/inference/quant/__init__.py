"""Quantized weights: the modes, torch's CPU kernels, bitsandbytes on CUDA, and the step that
replaces a loaded model's layers (`apply.quantize_model`)."""
