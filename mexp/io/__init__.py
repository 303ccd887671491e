"""Readers: frames and annotation sheets on disk -> arrays and Sample records."""
