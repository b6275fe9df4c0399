"""Prior sensitivity: power-scaling diagnostics and prior sweeps."""
