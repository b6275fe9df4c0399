"""Maximum-likelihood fits (exact for gaussian, Laplace otherwise), for likelihood-ratio tests."""
