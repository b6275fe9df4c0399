"""The latent-scale (link-scale) residual variance of each family (Nakagawa, Johnson &
Schielzeth 2017) and the response means and variances it rests on."""

import numpy as np
import pytest
from scipy.special import polygamma

from hglm.spec.families import FAMILIES, Family
from hglm.spec.families.base import THRESHOLD_VARIANCE

#: (family, link, eta, aux, trials): one case per family with a response variance
CASES = [
    ("gaussian", "identity", 1.0, {"sigma": 1.5}, None),
    ("gaussian", "log", 1.0, {"sigma": 1.5}, None),
    ("student", "identity", 0.5, {"sigma": 1.0, "nu": 6.0}, None),
    ("poisson", "log", 1.0, {}, None),
    ("negbinomial", "log", 1.0, {"alpha": 2.0}, None),
    ("binomial", "logit", 0.3, {}, np.array(7)),
    ("bernoulli", "probit", -0.4, {}, None),
    ("gamma", "log", 0.5, {"shape": 3.0}, None),
    ("gamma", "inverse", 0.5, {"shape": 3.0}, None),
    ("lognormal", "identity", 0.2, {"sigma": 0.6}, None),
    ("beta", "logit", 0.4, {"phi": 8.0}, None),
    ("betabinomial", "logit", -0.3, {"phi": 5.0}, np.array(9)),
    ("zero_inflated_poisson", "log", 1.2, {"zi": 0.3}, None),
    ("zero_inflated_negbinomial", "log", 1.2, {"alpha": 2.0, "zi": 0.3}, None),
    ("hurdle_poisson", "log", 0.5, {"hu": 0.4}, None),
    ("hurdle_negbinomial", "log", 0.5, {"alpha": 1.5, "hu": 0.4}, None),
    ("hurdle_lognormal", "identity", 0.3, {"sigma": 0.5, "hu": 0.25}, None),
]


def test_every_family_but_the_ordinal_has_a_response_variance():
    assert set(FAMILIES) - {c[0] for c in CASES} == {"cumulative"}


@pytest.mark.parametrize("name, link, eta, aux, trials", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_response_mean_and_variance_match_simulation(name, link, eta, aux, trials):
    family = Family(name, link)
    n = 400_000
    y = family.simulate_numpy(np.full(n, eta), aux, trials, np.random.default_rng(1))
    mean = float(family.response_mean(np.asarray(eta), aux, trials))
    variance = float(family.response_variance(np.asarray(eta), aux, trials))
    centred = y - y.mean()
    m4 = np.mean(centred**4)
    assert abs(y.mean() - mean) < 5 * np.sqrt(variance / n)
    assert abs(y.var() - variance) < 5 * np.sqrt((m4 - y.var() ** 2) / n)


@pytest.mark.parametrize("name, link", [("bernoulli", "logit"), ("bernoulli", "probit"),
                                        ("bernoulli", "cloglog"), ("binomial", "logit"),
                                        ("cumulative", "logit"), ("cumulative", "probit")])
def test_threshold_models_take_the_latent_distributions_variance(name, link):
    out = Family(name, link).latent_variance(np.array([-1.0, 0.0, 2.0]), np.ones(3), {})
    expected = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}[link]
    assert THRESHOLD_VARIANCE[link] == pytest.approx(expected)
    np.testing.assert_allclose(out, expected)
    assert out.shape == (3,)


def test_poisson_log_link_is_log1p_of_one_over_lambda():
    eta, group = np.array([0.2, 1.0, 2.5]), np.array([0.0, 0.4, 1.2])
    lam = np.exp(eta + group / 2)       # the mean count over the group effects
    out = Family("poisson").latent_variance(eta, group, {})
    np.testing.assert_allclose(out, np.log1p(1 / lam), rtol=1e-12)


def test_negbinomial_adds_one_over_alpha():
    eta, group, alpha = np.array([0.5, 1.5]), np.array([0.3, 0.6]), np.array([[2.0], [7.0]])
    lam = np.exp(eta + group / 2)
    out = Family("negbinomial").latent_variance(eta, group, {"alpha": alpha})
    np.testing.assert_allclose(out, np.log(1 + 1 / lam + 1 / alpha[:, 0]), rtol=1e-12)


def test_zero_inflation_at_zero_is_the_count_family():
    eta, group = np.array([0.5, 1.5]), np.array([0.3, 0.6])
    zip_ = Family("zero_inflated_poisson").latent_variance(eta, group, {"zi": np.zeros((2, 1))})
    np.testing.assert_allclose(zip_, Family("poisson").latent_variance(eta, group, {}))
    # zeros add variance on the latent scale: log(1 + 1/((1 - zi) lambda) + zi / (1 - zi))
    lam, zi = np.exp(eta + group / 2), 0.3
    out = Family("zero_inflated_poisson").latent_variance(eta, group, {"zi": zi})
    np.testing.assert_allclose(out, np.log1p(1 / ((1 - zi) * lam) + zi / (1 - zi)))


def test_gaussian_student_lognormal_take_their_residual_variance():
    eta = np.zeros(3)
    sigma = np.array([[0.5], [1.0], [2.0]])
    np.testing.assert_allclose(Family("gaussian").latent_variance(eta, 0, {"sigma": sigma}),
                               sigma[:, 0] ** 2)
    np.testing.assert_allclose(Family("lognormal").latent_variance(eta, 0, {"sigma": sigma}),
                               sigma[:, 0] ** 2)
    nu = np.array([[1.5], [5.0], [30.0]])
    out = Family("student").latent_variance(eta, 0, {"sigma": sigma, "nu": nu})
    assert np.isnan(out[0])     # nu <= 2: no variance
    np.testing.assert_allclose(out[1:], (sigma**2 * nu / (nu - 2))[1:, 0])


def test_gaussian_log_link_is_the_lognormal_approximation():
    out = Family("gaussian", "log").latent_variance(np.array([1.0]), np.array([0.5]),
                                                    {"sigma": 2.0})
    np.testing.assert_allclose(out, np.log1p(4.0 / np.exp(1.25) ** 2))


@pytest.mark.parametrize("name, link, aux, transform", [
    ("gamma", "log", {"shape": 2.5}, np.log),
    ("lognormal", "identity", {"sigma": 0.7}, np.log),
    ("beta", "logit", {"phi": 6.0}, lambda y: np.log(y) - np.log1p(-y)),
])
def test_exact_latent_variances_match_monte_carlo(name, link, aux, transform):
    """gamma: Var(log y) = trigamma(shape); lognormal: sigma^2; beta: Var(logit y) =
    trigamma(mu phi) + trigamma((1 - mu) phi)."""
    family, eta, n = Family(name, link), 0.4, 400_000
    z = transform(family.simulate_numpy(np.full(n, eta), aux, None, np.random.default_rng(2)))
    out = family.latent_variance(np.array([eta]), np.array([0.0]), aux)[0]
    se = np.sqrt((np.mean((z - z.mean()) ** 4) - z.var() ** 2) / n)
    assert abs(z.var() - out) < 5 * se
    if name == "gamma":
        assert out == pytest.approx(float(polygamma(1, 2.5)))


def test_betabinomial_adds_the_beta_part_to_the_binomials():
    eta, phi = np.array([-0.5, 0.7]), np.array([[3.0], [20.0]])
    beta = Family("beta").latent_variance(eta, 0, {"phi": phi})
    out = Family("betabinomial").latent_variance(eta, 0, {"phi": phi})
    np.testing.assert_allclose(out, np.pi**2 / 3 + beta)


def test_hurdle_lognormal_is_the_lognormal_approximation_of_the_whole_response():
    family, eta, aux = Family("hurdle_lognormal"), np.array([0.3]), {"sigma": 0.5, "hu": 0.25}
    approx = np.log1p(family.response_variance(eta, aux) / family.response_mean(eta, aux) ** 2)
    np.testing.assert_allclose(family.latent_variance(eta, 0, aux), approx)


def test_other_links_use_the_delta_method():
    # gamma, inverse link: Var(1/y) ~ Var(y) / mu^4 = 1 / (shape mu^2) = eta^2 / shape
    out = Family("gamma", "inverse").latent_variance(np.array([0.5]), 0, {"shape": 4.0})
    np.testing.assert_allclose(out, 0.5**2 / 4.0, rtol=1e-6)
