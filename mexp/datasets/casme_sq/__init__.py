"""CAS(ME)^2 short clips."""
