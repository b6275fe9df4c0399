import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats

from hglm.graph.distributions import inverse_wishart_cholesky, lkj_cholesky_corr, lkj_log_normalizer


def test_lkj_normalizer_matches_integrals():
    for eta in (0.5, 1.0, 2.0, 5.0):
        c = integrate.quad(lambda r, eta=eta: (1 - r * r) ** (eta - 1), -1, 1)[0]
        assert np.isclose(lkj_log_normalizer(pt.constant(eta), 2).eval(), np.log(c), rtol=1e-6)
    # volume of 3 x 3 correlation matrices is pi^2 / 2
    assert np.isclose(lkj_log_normalizer(pt.constant(1.0), 3).eval(), np.log(np.pi**2 / 2))


@pytest.mark.slow
def test_lkj_density_matches_prior_draws():
    """NUTS on the density must reproduce the generator's draws (both are the LKJ prior)."""
    with pm.Model() as m:
        lkj_cholesky_corr("L", 3, 2.0)
    prior = pm.sample_prior_predictive(draws=4000, model=m, random_seed=1).prior["L"].values
    with m:
        post = pm.sample(1000, tune=500, chains=2, random_seed=2, progressbar=False,
                         compute_convergence_checks=False).posterior["L"].values
    prior, post = prior.reshape(-1, 3), post.reshape(-1, 3)
    # marginal of each correlation under LKJ(2), n = 3: r ~ 2 Beta(2.5, 2.5) - 1, sd 0.408
    assert np.allclose(prior.std(0)[0], 0.408, atol=0.02)
    for k in range(3):
        assert stats.ks_2samp(prior[:, k], post[::2, k]).pvalue > 0.001


def test_inverse_wishart_logp_matches_scipy():
    S, nu = np.array([[2.0, 0.3], [0.3, 1.0]]), 5.0
    with pm.Model() as m:
        inverse_wishart_cholesky("C", nu, S)
    sigma = np.array([[0.8, 0.1], [0.1, 0.5]])
    L = np.linalg.cholesky(sigma)
    packed = L[np.tril_indices(2)]
    logp = pm.logp(m["C"], packed).eval()
    jac = 2 * np.log(2) + 2 * np.log(L[0, 0]) + np.log(L[1, 1])
    assert np.isclose(logp, stats.invwishart.logpdf(sigma, df=nu, scale=S) + jac)
