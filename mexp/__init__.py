"""mexp: facial micro-expression recognition with a two-stream 3D CNN in JAX/Flax."""

__version__ = "0.1.0"
