"""Comparisons: ``metrics``, the nine ``baselines``, label-free model ``selection``."""
