import warnings

import numpy as np
import pytest

import hglm
from hglm.sample.diagnostics import SamplingWarning
from hglm.sample.nuts import SamplerSettings
from tests.conftest import toy_frame


def _small_fit(seed, extend=False, **kw):
    """100 draws as asked (``extend=False``: not run on where R-hat is above 1.01)."""
    m = hglm.Model("y ~ x + (1 | g)", toy_frame())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.fit(draws=100, tune=100, chains=2, seed=seed, progressbar=False,
                     extend=extend, **kw)


def test_same_seed_same_draws():
    a, b = _small_fit(7), _small_fit(7)
    for name in ("beta", "sd_g", "sigma", "r_g"):
        np.testing.assert_array_equal(a.posterior[name].values, b.posterior[name].values)
    c = _small_fit(8)
    assert not np.array_equal(a.posterior["beta"].values, c.posterior["beta"].values)


def test_idata_groups_and_seed_recorded():
    fit = _small_fit(3)
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data"} <= set(
        fit.idata.groups())
    assert fit.idata.log_likelihood["y"].shape == (2, 100, 30)
    assert fit.settings.seed == 3
    assert SamplerSettings().seed is not None  # a seed is drawn and recorded when none is given


def test_few_draws_warn_in_plain_words():
    m = hglm.Model("y ~ x + (1 | g)", toy_frame())
    with pytest.warns(SamplingWarning, match="effective sample size .* Run more draws"):
        m.fit(draws=30, tune=30, chains=2, seed=1, progressbar=False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler="stan"), "unknown sampler"),
    (dict(sampler="blackjax"), "needs the package 'blackjax'"),
    (dict(draws=0), "draws must be"),
    (dict(target_accept=1.2), "target_accept"),
    (dict(mass_matrix="full"), "mass_matrix must be one of auto, diag, dense"),
])
def test_bad_settings_fail_before_sampling(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hglm.Model("y ~ x + (1 | g)", toy_frame()).fit(**kwargs)


@pytest.mark.slow
def test_nutpie_sampler():
    a, b = _small_fit(4, sampler="nutpie"), _small_fit(4, sampler="nutpie")
    np.testing.assert_array_equal(a.posterior["beta"].values, b.posterior["beta"].values)
    assert a.idata.log_likelihood["y"].shape == (2, 100, 30)
    assert a.settings.sampler == "nutpie"


def test_dense_mass_matrix_for_small_posteriors_only():
    from hglm.sample.nuts import dense_mass

    small = hglm.Model("y ~ x + (1 | g)", toy_frame(n_groups=6)).pymc_model      # marginal: 4
    large = hglm.Model("y ~ x + (1 | g)", toy_frame(n_groups=60),
                       strategy="indexed", centered=False).pymc_model            # 60 z + 4
    # 25 parameters: the SBC poisson model, whose chains got stuck with a dense matrix
    middle = hglm.Model("y ~ x + (1 | g)", toy_frame(n_groups=21),
                        strategy="indexed", centered=False).pymc_model            # 21 z + 4
    assert dense_mass(small, SamplerSettings())
    assert not dense_mass(middle, SamplerSettings())
    assert not dense_mass(large, SamplerSettings())
    assert dense_mass(large, SamplerSettings(mass_matrix="dense"))
    assert not dense_mass(small, SamplerSettings(mass_matrix="diag"))


def test_block_mass_matrix_is_dense_over_the_population_parameters_only():
    from hglm.sample.nuts import dense_mass

    model = hglm.Model("y ~ x + (1 | g)", toy_frame(n_groups=21), strategy="indexed",
                       centered=False)
    grouped = frozenset({"z_g"})
    block = dense_mass(model.pymc_model, SamplerSettings(mass_matrix="block"), grouped)
    assert block == (("Intercept_centered", "b", "sd_g_log__", "sigma_log__"),)
    # elsewhere than numpyro a block is not available: diagonal
    assert dense_mass(model.pymc_model, SamplerSettings(mass_matrix="block", sampler="pymc"),
                      grouped) is False
    fit = model.fit(draws=200, tune=300, chains=2, seed=3, mass_matrix="block",
                    progressbar=False)
    assert fit.diagnostics.divergences == 0 and fit.diagnostics.max_rhat < 1.05


def test_compiled_sampler_reused_across_data_gives_the_fresh_draws():
    """The JAX driver keeps compiled programs per model structure with the data as
    arguments: a fit that reuses another data set's programs must equal a fresh one."""
    from hglm.sample import jax_nuts

    def fit(frame):
        m = hglm.Model("y ~ x + (x | g)", frame, priors={"sd": "HalfNormal(1)"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return m.fit(draws=100, tune=100, chains=2, seed=4, sampler="numpyro",
                         progressbar=False)

    a, b = toy_frame(seed=1), toy_frame(seed=2)
    fit(a)
    reused = fit(b)
    assert len(jax_nuts._PROGRAMS) >= 2  # the sampler and the constraining program
    jax_nuts._PROGRAMS.clear()
    fresh = fit(b)
    for name in ("beta", "sd_g", "cor_g", "sigma"):
        np.testing.assert_array_equal(reused.posterior[name].values, fresh.posterior[name].values)
    assert not np.array_equal(fit(a).posterior["beta"].values, fresh.posterior["beta"].values)


def test_program_cache_is_bounded():
    """A full cache is emptied (JAX's caches too), so compiled code cannot pile up."""
    from hglm.sample import jax_nuts

    jax_nuts._PROGRAMS.clear()
    for i in range(jax_nuts.CACHE_SIZE):
        jax_nuts._cached(("test", i), lambda i=i: i)
    assert len(jax_nuts._PROGRAMS) == jax_nuts.CACHE_SIZE
    assert jax_nuts._cached(("test", 0), lambda: "rebuilt") == 0  # a hit is not rebuilt
    jax_nuts._cached(("test", "new"), lambda: "new")
    assert list(jax_nuts._PROGRAMS) == [("test", "new")]


def test_divergent_default_fit_is_refitted_at_a_smaller_step(monkeypatch):
    """A fit at the default target_accept that ends with divergences is run again at 0.99
    and says so; a target_accept the user chose is kept."""
    from hglm import model as model_module

    calls = []

    def divergences(idata):
        calls.append(idata)
        return 3 if len(calls) == 1 else 0       # the first run diverged, the refit did not

    monkeypatch.setattr(model_module, "_divergences", divergences)
    fit = _small_fit(4)
    assert len(calls) == 1 and fit.settings.target_accept == model_module.RETRY_TARGET_ACCEPT
    assert fit.notes == ["3 divergent transitions at target_accept 0.9: refitted at 0.99"]
    assert "Note: 3 divergent transitions" in fit.summary()
    calls.clear()
    chosen = _small_fit(4, target_accept=0.8)
    assert chosen.settings.target_accept == 0.8 and chosen.notes == []


def test_slowly_mixed_fit_runs_its_chains_on(monkeypatch):
    """A fit whose R-hat is above the limit (here any R-hat above 0) is run with twice the
    draws; with the same seed the warm-up and first draws repeat, so the chains run on from
    where they stopped.  A fit whose R-hat says its chains are stuck (above 1.05) is not."""
    from hglm import model as model_module
    from hglm.sample import diagnostics

    short = _small_fit(5)
    assert short.settings.draws == 100 and short.notes == []
    monkeypatch.setattr(diagnostics, "RHAT_MAX", 0.0)
    monkeypatch.setattr(model_module, "EXTEND_RHAT_UP_TO", np.inf)
    long = _small_fit(5, extend=True)
    assert long.settings.draws == 200 and long.posterior.sizes["draw"] == 200
    assert long.notes == [f"R-hat {short.diagnostics.max_rhat:.3f} (above 0.0) after 100 draws "
                          "per chain: ran to 200"]
    for name in ("beta", "sd_g", "sigma"):
        np.testing.assert_array_equal(long.posterior[name].values[:, :100],
                                      short.posterior[name].values)
    assert long.call["draws"] == 100           # update() repeats the user's call
    monkeypatch.setattr(model_module, "EXTEND_RHAT_UP_TO", 0.5)
    assert _small_fit(5, extend=True).settings.draws == 100
def test_erfcx_in_jax_matches_scipy_with_finite_gradients():
    """The probit link's log Phi needs erfcx, which PyTensor's JAX backend lacks without
    TensorFlow Probability; hglm's own is exact to 1e-12 relative, tails included."""
    import jax
    import jax.numpy as jnp
    from scipy import special

    from hglm.sample.jax_nuts import _erfcx, configure_jax

    configure_jax()
    import pytensor.link.jax.dispatch  # noqa: F401  (float64 in JAX, as when hglm samples)

    x = np.r_[np.linspace(-26.2, 60.0, 3001), 1e3, 1e6]
    got = np.asarray(_erfcx(jnp.asarray(x)))
    grad = np.asarray(jax.vmap(jax.grad(lambda v: jnp.log(_erfcx(v))))(jnp.asarray(x)))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, special.erfcx(x), rtol=1e-12)
    assert np.all(np.isfinite(grad))


def _concentrated_model(sd: float):
    """Two parameters, one with posterior sd ``sd`` and one with sd 1."""
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("tight", 3.0, sd)
        pm.Normal("wide", 0.0, 1.0)
    return model


def test_a_concentrated_coordinate_is_sampled_at_unit_scale():
    """numpyro shrinks a dense mass matrix towards 1e-3 I, so a coordinate of posterior sd
    1e-4 would set the step size (~0.03); sampled rescaled by its sd it is a unit normal:
    a step size near 1, and the same posterior."""
    from hglm.sample.jax_nuts import sample_jax

    idata, _ = sample_jax(_concentrated_model(1e-4), draws=1000, tune=1000, chains=4, seed=1,
                          target_accept=0.8, dense_mass=True, progressbar=False)
    tight = idata.posterior["tight"].values.ravel()
    # 4,000 draws: the mean's MC error ~2e-6, the sd's ~2% (5 MC errors allowed)
    assert abs(tight.mean() - 3.0) < 5 * 1e-4 / np.sqrt(1000)
    assert abs(tight.std() / 1e-4 - 1) < 0.1
    assert float(idata.sample_stats["step_size"].mean()) > 0.4


def test_rescaling_is_measured_only_where_a_coordinate_is_concentrated():
    """Unit-scale posteriors get no rescaling (None: their draws are as before); a
    coordinate of sd 1e-3 gets its sd, the other stays at 1."""
    from hglm.sample.jax_nuts import _lift, _unit_scales

    x0 = [np.zeros((4,)), np.zeros((4,))]
    for sd, expected in ((0.5, None), (1e-3, [1e-3, 1.0])):
        model = _concentrated_model(sd)
        fgraph, consts, key = _lift(model.value_vars, [model.logp()])
        found = _unit_scales(fgraph, key, x0, consts)
        if expected is None:
            assert found is None
        else:
            scales, mode = found
            assert np.allclose(np.ravel(scales), expected, rtol=1e-6)
            assert np.allclose(np.ravel(mode), [3.0, 0.0], atol=1e-9)
