"""CASME (v1)."""
