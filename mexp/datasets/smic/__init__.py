"""SMIC."""
