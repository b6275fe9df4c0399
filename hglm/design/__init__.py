"""Stage 2 -- formula + data -> design arrays (formulae does the parsing)."""
