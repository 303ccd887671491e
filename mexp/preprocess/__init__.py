"""Pure preprocessing: arrays in, arrays out, no I/O and no module state."""
