"""CASME II."""
