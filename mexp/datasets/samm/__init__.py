"""SAMM."""
