"""Every strategy defines the same model: equal log densities where they must be equal, and
posteriors that agree within Monte Carlo error."""

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hglm
from hglm.graph.strategies import get_strategy
from hglm.graph.strategies.collapsed import collapse_rows
from hglm.results.agreement import posterior_agreement
from tests.conftest import FAST, PYTHON, toy_frame


def _point_values(model, seed=0):
    """A random point on the unconstrained space and the constrained values it implies."""
    rng = np.random.default_rng(seed)
    point = {k: rng.normal(scale=0.5, size=np.shape(v)) for k, v in model.initial_point().items()}
    names = [v.name for v in model.free_RVs + model.deterministics]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore", mode=PYTHON)
    return point, dict(zip(names, fn(point)))


def _marginal_potential(model, point, response):
    out = model.replace_rvs_by_values([model[f"{response}_marginal"]])[0]
    fn = model.compile_fn(out, inputs=model.value_vars, on_unused_input="ignore", mode=PYTHON)
    return float(fn(point))


@pytest.mark.parametrize("formula", [
    "y ~ x + (1 | g)",                       # q = 1 closed form
    "y ~ x + (1 + x | g)",                   # q = 2 closed form
    "y ~ x + (1 + x + z | g)",               # q = 3 batched Cholesky
    "y ~ x + (1 | g) + (0 + x | g)",         # two blocks of one factor
    "y ~ 1 + (1 | g)",
])
def test_marginal_density_is_the_dense_multivariate_normal(formula):
    df = toy_frame(n_groups=6, per_group=5)
    m = hglm.Model(formula, df, strategy="marginal")
    model = m.pymc_model
    point, values = _point_values(model)
    design = m.design
    V = values["sigma"] ** 2 * np.eye(design.n)
    for block in design.blocks:
        sd = values[f"sd_{block.label}"]
        corr = np.eye(block.q)
        if block.has_correlation:
            rows, cols = np.tril_indices(block.q, -1)
            corr[rows, cols] = corr[cols, rows] = values[f"cor_{block.label}"]
        Zfull = np.zeros((design.n, block.n_levels * block.q))
        for k in range(block.q):
            Zfull[np.arange(design.n), block.index * block.q + k] = block.Z[:, k]
        cov = np.kron(np.eye(block.n_levels), sd[:, None] * corr * sd[None, :])
        V += Zfull @ cov @ Zfull.T
    mean = design.X @ values["beta"]
    expected = stats.multivariate_normal(mean, V).logpdf(design.y)
    assert _marginal_potential(model, point, "y") == pytest.approx(expected, rel=1e-9)


def test_marginal_with_a_crossed_factor_conditions_on_the_sampled_one():
    df = toy_frame(n_groups=6, per_group=6)
    m = hglm.Model("y ~ x + (1 | g) + (1 | h)", df, strategy="marginal", centered=False)
    assert m.parameterization == {"strategy": "marginal", "g": "marginalized", "h": "non-centered"}
    model = m.pymc_model
    point, values = _point_values(model, seed=3)
    d = m.design
    g, h = d.blocks
    mean = d.X @ values["beta"] + values["r_h"][h.index, 0]
    V = (values["sigma"] ** 2 * np.eye(d.n)
         + values["sd_g"][0] ** 2 * (g.index[:, None] == g.index[None, :]))
    expected = stats.multivariate_normal(mean, V).logpdf(d.y)
    assert _marginal_potential(model, point, "y") == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("formula, sigma, weighted", [
    ("y ~ x + (1 + x | g)", "~ x", False),
    ("y ~ x + (1 | g)", "~ x + (1 | g)", True),
    ("y ~ x + (1 | g) + (1 | h)", "~ z", False),
])
def test_marginal_density_with_a_sigma_per_row_is_the_dense_multivariate_normal(
        formula, sigma, weighted):
    """A formula for sigma: the residual covariance is diag(sigma_i^2); with weights, row i's
    log-likelihood counts w_i times (its normal density to the power w_i)."""
    df = toy_frame(n_groups=6, per_group=6).assign(w=np.tile([1.0, 2.0, 0.3], 12))
    m = hglm.Model(formula, df, strategy="marginal", sigma=sigma, centered=False,
                   weights="w" if weighted else None)
    model = m.pymc_model
    point, values = _point_values(model, seed=5)
    d = m.design
    g = next(b for b in d.blocks if b.factor == "g")
    sigma = np.exp(np.column_stack([np.ones(d.n), d.dpars[0].X[:, 1:]]) @ values["beta_sigma"])
    if d.dpars[0].blocks:
        sigma = sigma * np.exp(values["r_g__sigma"][d.dpars[0].blocks[0].index, 0])
    mean = d.X @ values["beta"]
    for block in d.blocks:
        if block is not g:
            mean = mean + values[f"r_{block.label}"][block.index, 0]
    w = df.w.to_numpy() if weighted else np.ones(d.n)
    # weights: N(y | m, V) with V's diagonal sigma_i^2 / w_i has the quadratic form of the
    # w_i-th powers; their normalizing constants, -w_i/2 log(2 pi sigma_i^2), differ from it
    # by -(w_i - 1)/2 log(2 pi sigma_i^2) - log(w_i)/2
    sd, corr = values["sd_g"], np.eye(g.q)
    if g.has_correlation:
        corr[1, 0] = corr[0, 1] = values["cor_g"][0]
    Zfull = np.zeros((d.n, g.n_levels * g.q))
    for k in range(g.q):
        Zfull[np.arange(d.n), g.index * g.q + k] = g.Z[:, k]
    V = np.diag(sigma**2 / w) + Zfull @ np.kron(np.eye(g.n_levels),
                                                 sd[:, None] * corr * sd[None, :]) @ Zfull.T
    expected = stats.multivariate_normal(mean, V).logpdf(d.y) \
        + np.sum(-0.5 * np.log(w) - 0.5 * (w - 1) * np.log(2 * np.pi * sigma**2))
    assert m.parameterization["strategy"] == "marginal"
    assert _marginal_potential(model, point, "y") == pytest.approx(expected, rel=1e-9)


def _dense_covariance(values, d, block, sigma2):
    """sigma^2 I + Z Sigma Z' over the design's rows, for one (possibly correlated) block."""
    sd, corr = values[f"sd_{block.label}"], np.eye(block.q)
    if block.has_correlation:
        corr[1, 0] = corr[0, 1] = values[f"cor_{block.label}"][0]
    Zfull = np.zeros((d.n, block.n_levels * block.q))
    for k in range(block.q):
        Zfull[np.arange(d.n), block.index * block.q + k] = block.Z[:, k]
    cov = np.kron(np.eye(block.n_levels), sd[:, None] * corr * sd[None, :])
    return np.diag(sigma2) + Zfull @ cov @ Zfull.T


@pytest.mark.parametrize("family, formula, weighted", [
    ("lognormal", "y ~ x + (1 + x | g)", False),
    ("hurdle_lognormal", "y ~ x + (1 + x | g)", False),
    ("hurdle_lognormal", "y ~ x + (1 | g) + (1 | h)", True),
])
def test_lognormal_marginal_density_is_the_dense_normal_of_log_y(family, formula, weighted):
    """log y of the positive rows is N(X b [+ sampled effects], sigma^2 / w + Z Sigma Z'),
    plus the Jacobian -sum w log y and, for the hurdle, sum w [y = 0] log hu + w [y > 0]
    log(1 - hu); rows of weight w count w times."""
    df = toy_frame(n_groups=6, per_group=6).assign(w=np.tile([1.0, 2.0, 0.5], 12))
    df["y"] = np.exp(df.y) * (np.arange(len(df)) % 4 != 1 if family.startswith("hurdle") else 1)
    m = hglm.Model(formula, df, family, centered=False, weights="w" if weighted else None)
    assert m.parameterization["strategy"] == "marginal"
    model = m.pymc_model
    point, values = _point_values(model, seed=2)
    d = m.design
    w = df.w.to_numpy() if weighted else np.ones(d.n)
    pos = d.y > 0
    mean = d.X @ values["beta"]
    g = d.blocks[0]
    for block in d.blocks[1:]:
        mean = mean + values[f"r_{block.label}"][block.index, 0]
    sub = dataclasses.replace(g, Z=g.Z[pos], index=g.index[pos])
    V = _dense_covariance(values, dataclasses.replace(d, y=d.y[pos]), sub,
                          values["sigma"] ** 2 / w[pos])
    logy, wp = np.log(d.y[pos]), w[pos]
    expected = (stats.multivariate_normal(mean[pos], V).logpdf(logy) - np.sum(wp * logy)
                + np.sum(-0.5 * np.log(wp) - 0.5 * (wp - 1) * np.log(2 * np.pi
                                                                  * values["sigma"] ** 2)))
    if family.startswith("hurdle"):
        expected += np.sum(w * np.where(pos, np.log1p(-values["hu"]), np.log(values["hu"])))
    assert _marginal_potential(model, point, "y") == pytest.approx(expected, rel=1e-9)


def _binary_frame(seed=0):
    rng = np.random.default_rng(seed)
    n = 400
    df = pd.DataFrame({"g": pd.Categorical(rng.choice([f"g{i}" for i in range(8)], n)),
                       "f": pd.Categorical(rng.choice(["a", "b", "c"], n)),
                       "t": rng.integers(0, 2, n)})
    eta = -0.3 + 0.8 * (df.f == "b") + 0.5 * df.t + rng.normal(0, 0.7, 8)[df.g.cat.codes]
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    df["count"] = rng.poisson(np.exp(eta + 1))
    return df


@pytest.mark.parametrize("family, response", [("bernoulli", "y"), ("poisson", "count")])
def test_collapsed_rows_have_the_same_log_density(family, response):
    df = _binary_frame().assign(y=lambda d: d[response])
    kwargs = dict(family=family, centered=False)
    collapsed = hglm.Model("y ~ f + t + (1 + t | g)", df, strategy="collapsed", **kwargs)
    rowwise = hglm.Model("y ~ f + t + (1 + t | g)", df, strategy="indexed", **kwargs)
    assert len(collapse_rows(collapsed.design)[0]) <= 8 * 3 * 2
    assert get_strategy("auto", collapsed.design).name == "collapsed"
    point, _ = _point_values(collapsed.pymc_model, seed=1)
    a = collapsed.pymc_model.compile_logp(mode=PYTHON)(point)
    b = rowwise.pymc_model.compile_logp(mode=PYTHON)(point)
    assert a == pytest.approx(b, rel=1e-10)


def test_strategy_refuses_a_family_it_cannot_fit():
    with pytest.raises(ValueError, match="marginal.*gaussian"):
        hglm.Model("count ~ x + (1 | g)", toy_frame(), family="poisson", strategy="marginal")
    with pytest.raises(ValueError, match="collapsed.*binomial"):
        hglm.Model("y ~ x + (1 | g)", toy_frame(), strategy="collapsed")
    with pytest.raises(ValueError, match="padded.*no random effects"):
        hglm.Model("count ~ x", toy_frame(), "poisson", strategy="padded")
    with pytest.raises(ValueError, match="unknown strategy"):
        hglm.Model("y ~ x + (1 | g)", toy_frame(), strategy="fast")


def test_auto_picks_marginal_for_gaussian_and_centering_follows_the_data(sleepstudy):
    assert hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy).parameterization == {
        "strategy": "marginal", "Subject": "marginalized"}
    # 10 rows per subject inform each subject's effects: partially centered, level by level
    # and term by term, when sampled and uncorrelated
    m = hglm.Model("Reaction ~ Days + (Days || Subject)", sleepstudy, strategy="indexed")
    assert m.parameterization["Subject"] == "partially centered"
    assert "t_Subject" in {v.name for v in m.pymc_model.free_RVs}
    weights = m._strategy.weights(m.design, m.design.blocks[0])
    assert weights.shape == (18, 2) and 0.3 < np.median(weights) < 1
    # a random intercept alone is centered hierarchically, on the fixed intercept
    m = hglm.Model("Reaction ~ Days + (1 | Subject)", sleepstudy, strategy="indexed")
    assert m.parameterization["Subject"] == "hierarchically centered"
    assert {"eta_Subject"} <= {v.name for v in m.pymc_model.free_RVs}
    # an informed correlated block whose terms are fixed effects: each subject's
    # coefficients are sampled around the fixed effects; one that is not stays non-centered
    m = hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy, strategy="indexed")
    assert m.parameterization["Subject"] == "hierarchically centered"
    assert "c_Subject" in {v.name for v in m.pymc_model.free_RVs}
    m = hglm.Model("Reaction ~ 1 + (Days | Subject)", sleepstudy, strategy="indexed")
    assert m.parameterization["Subject"] == "non-centered"
    # broods nested in locations: plain centering would split a weakly identified total, so
    # both tiers are centered hierarchically, broods on their year and location, locations on
    # the intercept and altitude; the nesting raises the default target_accept
    formula = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)"
    grouse = hglm.Model(formula, hglm.datasets.load("grouseticks"), "poisson",
                        strategy="indexed")
    assert grouse.parameterization == {"strategy": "indexed", "BROOD": "hierarchically centered",
                                       "LOCATION": "hierarchically centered"}
    # by default its 403 rows are summed into 118 poisson counts (chicks of a brood share
    # every covariate), the effects placed the same way
    auto = hglm.Model(formula, hglm.datasets.load("grouseticks"), "poisson").parameterization
    assert auto["strategy"] == "collapsed"
    assert auto["BROOD"].startswith("hierarchically centered, 403 rows summed into 118")
    assert grouse.default_target_accept == 0.95
    strategy = grouse._strategy
    p = strategy.plan(grouse.design, grouse.design.X, grouse.design.blocks[0],
                      grouse.design.blocks)
    names = np.array(grouse.design.fixed_names)
    assert [t.block.label for t in p.tiers] == ["BROOD", "LOCATION"]
    assert set(names[p.tiers[0].columns]) == {"YEAR[96]", "YEAR[97]"}
    assert set(names[p.tiers[1].columns]) == {"Intercept", "scale(HEIGHT)"}
    # broods are well informed by their counts, locations (about two broods each) barely
    brood_w, location_w = strategy._weights(grouse.design, p)
    assert np.median(brood_w) > 0.6 and np.median(location_w) < 0.3
    assert hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy).default_target_accept == 0.9
    # two small counts per level say little about each level: non-centered
    df = toy_frame(n_groups=15, per_group=2)
    df["count"] = np.random.default_rng(0).poisson(0.3, size=30)
    assert hglm.Model("count ~ 1 + (1 | g)", df, "poisson",
                      strategy="indexed").parameterization == {
        "strategy": "indexed", "g": "non-centered"}


def _agree(a, b, names, n_mcse=4.0):
    """Parameters whose posterior means differ by more than n_mcse combined MCSEs."""
    table = posterior_agreement(a, b, names)
    return list(table.loc[table["z"] > n_mcse, ["parameter", "z"]].itertuples(index=False,
                                                                           name=None))


SETTINGS = dict(FAST, draws=1000, seed=5)


CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _nested_counts(seed=0):
    """Poisson counts, 4 rows per brood, 2-3 broods per location, a brood-level and a
    row-level covariate: the grouseticks layout in small."""
    rng = np.random.default_rng(seed)
    loc = np.repeat(np.arange(10), rng.integers(2, 4, size=10))
    brood = np.arange(len(loc))
    year = rng.integers(0, 2, size=len(brood))
    eta_b = 1.0 + 0.5 * year + rng.normal(0, 0.6, len(brood)) + rng.normal(0, 0.4, 10)[loc]
    rows = np.repeat(brood, 4)
    x = rng.normal(size=len(rows))
    y = rng.poisson(np.exp(eta_b[rows] + 0.3 * x))
    return pd.DataFrame({"y": y, "x": x, "year": year[rows].astype(float),
                         "brood": pd.Categorical(rows), "loc": pd.Categorical(loc[rows])})


def _hurdle_frame():
    """Simulated zeros and lognormal positives with correlated group effects (tests/reference)."""
    return pd.read_csv(Path(__file__).parents[1] / "reference" / "hurdle_sim.csv")


@pytest.mark.slow
@pytest.mark.parametrize("make, variants", [
    (lambda s: hglm.Model("Reaction ~ Days + (Days | Subject)", s),
     ({"strategy": "marginal"}, {"strategy": "indexed"})),
    (lambda s: hglm.Model("y ~ f + t + (1 | g)", _binary_frame(), family="bernoulli"),
     ({"strategy": "collapsed"}, {"strategy": "indexed"})),
    (lambda s: hglm.Model("count ~ f + t + (1 + t | g)", _binary_frame(), family="poisson"),
     ({"strategy": "collapsed"}, {"strategy": "indexed"})),
    (lambda s: hglm.Model(CBPP, hglm.datasets.load("cbpp"), family="binomial"),
     ({"strategy": "indexed", "centered": True}, {"strategy": "indexed", "centered": False})),
    (lambda s: hglm.Model("Reaction ~ Days + (Days | Subject)", s),
     ({"strategy": "indexed"}, {"strategy": "indexed", "centered": False})),
    (lambda s: hglm.Model("y ~ x + year + (1 | brood) + (1 | loc)", _nested_counts(),
                          family="poisson"),
     ({"strategy": "indexed"}, {"strategy": "indexed", "centered": False})),
    (lambda s: hglm.Model("Reaction ~ Days + (Days | Subject)", s, sigma="~ Days"),
     ({"strategy": "marginal"}, {"strategy": "indexed"})),
    (lambda s: hglm.Model("y ~ x + (1 + x | g)", _hurdle_frame(), family="hurdle_lognormal"),
     ({"strategy": "marginal"}, {"strategy": "indexed"})),
], ids=["gaussian-marginal", "bernoulli-collapsed", "poisson-collapsed", "binomial-centered",
         "gaussian-hierarchical-corr",
        "poisson-hierarchical", "gaussian-sigma-formula-marginal", "hurdle-lognormal-marginal"])
def test_strategies_give_the_same_posterior(make, variants, sleepstudy):
    fits = []
    for kwargs in variants:
        base = make(sleepstudy)
        m = hglm.Model(base.formula, base.data, base.family, **kwargs, **base.spec.dpar_dict)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(m.fit(**SETTINGS).idata)
    names = ["beta"] + [v for v in fits[0].posterior.data_vars
                        if v.startswith(("sd_", "cor_", "sigma", "r_", "beta_"))]
    assert _agree(*fits, names) == []


def test_crossed_informed_intercepts_anchor_the_one_with_fewer_levels():
    """Two crossed random intercepts, both informed: the factor with the fewer levels carries
    the intercept (its mean holds most of the intercept's uncertainty), the other is
    partially centered on zero; nested factors keep the innermost as the anchor (above)."""
    rng = np.random.default_rng(5)
    s, item = rng.integers(0, 200, 5000), rng.integers(0, 25, 5000)
    eta = rng.normal(0, 1.0, 200)[s] + rng.normal(0, 0.7, 25)[item]
    df = pd.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-eta))),
                       "x": rng.normal(size=5000), "s": pd.Categorical(s),
                       "item": pd.Categorical(item)})
    m = hglm.Model("y ~ x + (1 | s) + (1 | item)", df, family="bernoulli")
    assert m.parameterization == {"strategy": "indexed", "s": "partially centered",
                                  "item": "hierarchically centered"}
    assert m._strategy.anchor(m.design).label == "item"
    # forcing the subjects' centering off leaves the items the only candidate
    forced = hglm.Model("y ~ x + (1 | s) + (1 | item)", df, family="bernoulli",
                        centered={"item": False})
    assert forced.parameterization["s"] == "hierarchically centered"


def test_centered_correlated_density_is_the_multivariate_normal():
    m = hglm.Model("y ~ x + (1 + x + z | g)", toy_frame(), strategy="indexed", centered=True)
    model = m.pymc_model
    point, values = _point_values(model, seed=3)
    out = model.replace_rvs_by_values([model["t_g_prior"]])[0]
    got = float(model.compile_fn(out, inputs=model.value_vars, on_unused_input="ignore",
                                 mode=PYTHON)(point))
    sd, cor = values["sd_g"], values["cor_g"]
    corr = np.eye(3)
    rows, cols = np.tril_indices(3, -1)
    corr[rows, cols] = corr[cols, rows] = cor
    cov = sd[:, None] * corr * sd[None, :]
    expected = stats.multivariate_normal(np.zeros(3), cov).logpdf(values["r_g"]).sum()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("with_mean", [False, True])
def test_partially_centered_effects_have_the_multivariate_normal_distribution(with_mean):
    """Any weights give the same distribution of the effects: the density of the sampled
    variable, carried back through the map's Jacobian, is MvNormal(mean, Sigma) of the
    coefficients (checked against scipy at random points and weights)."""
    import pymc as pm
    import pytensor.tensor as pt

    from hglm.graph.strategies.base import BlockParams
    from hglm.graph.strategies.indexed import partially_centered

    design = hglm.make_design("y ~ x + (1 + x + z | g)", toy_frame())
    block = design.blocks[0]
    rng = np.random.default_rng(7)
    weight = rng.uniform(size=(block.n_levels, block.q))
    sd = np.array([0.7, 1.3, 0.4])
    A = rng.normal(size=(3, 3))
    S = A @ A.T + np.eye(3)
    corr = S / np.sqrt(np.outer(np.diag(S), np.diag(S)))
    L = np.linalg.cholesky(corr)
    mean = np.array([0.5, -1.0, 2.0]) if with_mean else None
    with pm.Model(coords={"g": block.levels, "g__term": block.terms}) as model:
        coef = partially_centered(BlockParams(block, pt.as_tensor(sd), pt.as_tensor(L)),
                                 ("g", "g__term"), weight,
                                 mean=None if mean is None else pt.as_tensor(mean))
    name = "c_g" if with_mean else "t_g"
    tilde = rng.normal(size=(block.n_levels, block.q))
    fn = model.compile_fn([model[f"{name}_prior"], coef], inputs=[model[name]],
                          on_unused_input="ignore", mode=PYTHON)
    log_t, values = fn({name: tilde})
    # r_k = m_k + s_k^(1-w) (t_k - w c_k), terms most-centered first: a triangular map with
    # d r_k / d t_k = s_k^(1-w), s_k = sd_k times the permuted Cholesky factor's diagonal
    order = np.argsort(-np.median(weight, axis=0), kind="stable")
    s = sd[order] * np.diag(np.linalg.cholesky(corr[np.ix_(order, order)]))
    log_jacobian = np.sum((1 - weight[:, order]) * np.log(s)[None, :])
    expected = stats.multivariate_normal(np.zeros(3) if mean is None else mean,
                                         np.outer(sd, sd) * corr).logpdf(values).sum()
    np.testing.assert_allclose(float(log_t) - log_jacobian, expected, rtol=1e-10)


@pytest.mark.parametrize("formula, family", [
    ("count ~ x + (x | g)", "poisson"),                # hierarchically centered, correlated
    ("count ~ x + (1 | g) + (1 | h)", "poisson"),      # a crossed factor still gathered
    ("success ~ x + (1 | g)", "bernoulli"),
])
def test_padded_layout_has_the_same_log_density(formula, family):
    rng = np.random.default_rng(4)
    df = toy_frame(n_groups=7, per_group=6)
    df = df.iloc[rng.permutation(len(df))[:-5]].reset_index(drop=True)   # unbalanced, shuffled
    df["h"] = pd.Categorical(rng.integers(0, 4, len(df)))
    df["count"] = rng.poisson(2.0, len(df))
    df["success"] = rng.integers(0, 2, len(df))
    models = [hglm.Model(formula, df, family, strategy=s).pymc_model for s in ("indexed", "padded")]
    assert [v.name for v in models[0].value_vars] == [v.name for v in models[1].value_vars]
    point, _ = _point_values(models[0], seed=2)
    logps = [m.compile_logp(mode=PYTHON)(point) for m in models]
    np.testing.assert_allclose(logps[0], logps[1], rtol=1e-10)


@pytest.mark.parametrize("Q", [1, 2, 3])
def test_conditional_draw_is_the_mean_plus_the_cholesky_noise(Q):
    """The integrated effects' draw M^-1 w + C'^-1 eps (M = C C'), written out for Q <= 2,
    equals NumPy's solves; so its distribution is N(M^-1 w, M^-1)."""
    from hglm.graph.strategies.marginal import _gaussian_draw

    rng = np.random.default_rng(Q)
    A = rng.normal(size=(5, 7, Q, Q))
    M = A @ np.swapaxes(A, -1, -2) + np.eye(Q)
    w, eps = rng.normal(size=(5, 7, Q)), rng.normal(size=(5, 7, Q))
    C = np.linalg.cholesky(M)
    expected = (np.linalg.solve(M, w[..., None])
                + np.linalg.solve(np.swapaxes(C, -1, -2), eps[..., None]))[..., 0]
    assert np.allclose(_gaussian_draw(M, w, eps), expected, rtol=1e-12, atol=1e-12)
