"""Stage 1 -- what the user declares: priors and families."""
