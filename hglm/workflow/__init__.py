"""The workflow around a model: spec files (data, model, sampling, comparisons, sensitivity)
that the command line runs."""
