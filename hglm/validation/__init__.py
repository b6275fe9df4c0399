"""Checks that hglm fits the model the user declared: simulation-based calibration."""
