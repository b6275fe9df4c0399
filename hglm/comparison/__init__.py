"""Model comparison: bridge sampling, LOO and boundary-corrected likelihood-ratio tests."""
