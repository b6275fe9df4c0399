import numpy as np
import pytest

import hglm
from hglm.spec.families import FAMILIES, as_family
from tests.spec.scipy_densities import scipy_logpdf


@pytest.mark.parametrize("name, link", [("gaussian", "identity"), ("poisson", "log"),
                                        ("binomial", "logit"), ("bernoulli", "logit"),
                                        ("negbinomial", "log")])
def test_default_links(name, link):
    assert as_family(name).link == link


def test_other_links_and_family_objects():
    assert hglm.Family("binomial", link="probit").link == "probit"
    assert as_family("bernoulli", "cloglog").link == "cloglog"
    assert as_family(hglm.Family("poisson")).name == "poisson"


@pytest.mark.parametrize("name, link, message", [("weibull", None, "unknown family"),
                                                 ("poisson", "logit", "has no link")])
def test_bad_family(name, link, message):
    with pytest.raises(ValueError, match=message):
        as_family(name, link)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_links_invert(link):
    fam = hglm.Family("binomial", link)
    mu = np.array([0.05, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(fam.inverse_link_numpy(fam.link_numpy(mu)), mu)
    np.testing.assert_allclose(fam.inverse_link(fam.link_numpy(mu)).eval(), mu)


CASES = [(name, link) for name, info in FAMILIES.items()
         for link in info.links]


@pytest.mark.parametrize("name, link", CASES)
def test_link_scale_log_density_matches_scipy_and_stays_finite(name, link):
    """Family.log_density (what fit_ml optimizes) against scipy's log densities, and finite
    with finite gradients on linear predictors far into the tails."""
    import pytensor
    import pytensor.tensor as pt
    from scipy import special

    fam = hglm.Family(name, link)
    rng = np.random.default_rng(0)
    eta = np.r_[np.linspace(-6, 3, 40), -400.0, -40.0, 40.0, 300.0]
    trials = np.full(eta.size, 7.0)
    counts = rng.poisson(3, eta.size)
    y = {"gaussian": rng.normal(size=eta.size), "student": 3 * rng.standard_t(3, eta.size),
         "binomial": rng.integers(0, 8, eta.size), "betabinomial": rng.integers(0, 8, eta.size),
         "bernoulli": rng.integers(0, 2, eta.size), "gamma": rng.gamma(2.0, 1.5, eta.size),
         "lognormal": rng.gamma(2.0, 1.5, eta.size), "beta": rng.beta(2.0, 3.0, eta.size),
         "hurdle_lognormal": rng.gamma(2.0, 1.5, eta.size) * (counts > 1),
         "cumulative": rng.integers(0, 5, eta.size)}.get(name, counts)
    aux = {"sigma": 1.7, "alpha": 2.5, "nu": 3.5, "shape": 2.2, "phi": 6.0, "zi": 0.3,
           "hu": 0.35, "thresholds": np.array([-1.2, -0.3, 0.6, 1.6])}
    e = pt.dvector("eta")
    # float64 tensors: PyTensor would read a literal 2.5 as float32
    with_trials = trials if fam.response == "binomial" else None
    logp = fam.log_density(y.astype(float), e, {k: pt.as_tensor(np.asarray(aux[k], np.float64))
                                                for k in fam.aux}, with_trials)
    values, grad = pytensor.function([e], [logp, pt.grad(pt.sum(logp), e)])(eta)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    ok = (eta > -7) & (eta < 4)            # where scipy's probability-scale forms are accurate
    if link in ("inverse", "identity") and fam.mean_range[0] == 0:
        ok &= eta > 0                      # a positive mean: the density is defined there
    expected = scipy_logpdf(name, link, y[ok], eta[ok], aux,
                            None if with_trials is None else with_trials[ok])
    np.testing.assert_allclose(values[ok], expected, rtol=1e-8, atol=1e-9)
    if name == "bernoulli" and link == "probit":      # the tails, against scipy's log_ndtr
        tail = ~ok | (eta < -5)
        expected_tail = np.where(y[tail] == 1, special.log_ndtr(eta[tail]),
                                 special.log_ndtr(-eta[tail]))
        np.testing.assert_allclose(values[tail], expected_tail, rtol=1e-9, atol=1e-12)
