"""Stage 5 -- the fitted model: tables, summary, saving and loading."""
