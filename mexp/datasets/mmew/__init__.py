"""MMEW."""
