"""Interpreting a fit: predictions, comparisons and slopes over grids, R², ICC, hypotheses."""
