"""CAS(ME)^3 Part A."""
