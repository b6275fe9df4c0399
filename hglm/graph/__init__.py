"""Stage 3 -- design + priors -> PyMC model; likelihood strategies."""
