"""The data stage: raw formats, the canonical tables, matrices and splits, the simulated log."""
