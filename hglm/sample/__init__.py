"""Stage 4 -- NUTS sampling and convergence diagnostics."""
