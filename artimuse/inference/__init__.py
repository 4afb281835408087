"""Running the model: the shared-prefix engine, comment streaming, CPU kernels."""
