import numpy as np
import pytest

from hglm.results.predict import aux_draws, linear_predictor


def test_in_sample_predictor_reproduces_the_models_log_likelihood(sleep_fit):
    d = sleep_fit.design
    eta = linear_predictor(d, sleep_fit.posterior)
    ll = d.family.logpdf_numpy(d.y, eta, aux_draws(d, sleep_fit.posterior))
    ref = sleep_fit.idata.log_likelihood["Reaction"].values.reshape(ll.shape)
    np.testing.assert_allclose(ll, ref, rtol=1e-10)


def test_new_data_and_new_levels(sleep_fit, sleepstudy):
    d = sleep_fit.design
    same = linear_predictor(d, sleep_fit.posterior, newdata=sleepstudy)
    np.testing.assert_allclose(same, linear_predictor(d, sleep_fit.posterior))
    fixed = linear_predictor(d, sleep_fit.posterior, newdata=sleepstudy, include_random=False)
    new = sleepstudy.assign(Subject=sleepstudy.Subject.astype(str) + "_new")
    drawn = linear_predictor(d, sleep_fit.posterior, newdata=new, rng=1)
    # a new subject's day-0 prediction spreads by the intercept sd around the fixed intercept
    spread = (drawn - fixed)[:, 0]
    sd_int = sleep_fit.posterior["sd_Subject"].sel(Subject__term="Intercept").values
    assert abs(spread.std() - np.sqrt(np.mean(sd_int**2))) < 0.1 * np.sqrt(np.mean(sd_int**2))
    with pytest.raises(ValueError, match="allow_new_levels=True"):
        linear_predictor(d, sleep_fit.posterior, newdata=new, allow_new_levels=False)
    with pytest.raises(ValueError, match="'Days' of formula .* not in the data"):
        linear_predictor(d, sleep_fit.posterior, newdata=sleepstudy.drop(columns="Days"))


def test_fit_predict_summary_and_kinds(sleep_fit, sleepstudy):
    table = sleep_fit.predict()
    assert list(table.columns) == ["mean", "sd", "lower", "upper"] and len(table) == 180
    # the in-sample mean follows the data closely (random slopes per subject)
    assert np.corrcoef(table["mean"], sleepstudy.Reaction)[0, 1] > 0.9
    draws = sleep_fit.predict(kind="response", summary=False)
    assert draws.shape == (2000, 180)
    # simulated responses spread more than the mean: by about sigma
    assert (draws.std(axis=0) > sleep_fit.predict(summary=False).std(axis=0)).all()
    with pytest.raises(ValueError, match="kind must be"):
        sleep_fit.predict(kind="median")


def test_binomial_mean_uses_trials():
    import warnings

    import hglm
    df = hglm.datasets.load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hglm.Model("p(incidence, size) ~ period + (1 | herd)", df, "binomial").fit(
            draws=200, tune=200, chains=2, seed=1, progressbar=False)
    mean = fit.predict(summary=False)
    p = fit.predict(kind="link", summary=False)
    np.testing.assert_allclose(mean, df["size"].to_numpy() / (1 + np.exp(-p)))
    new = df.head(3).assign(size=[100, 100, 100])
    assert (fit.predict(new)["mean"] > fit.predict(df.head(3))["mean"]).all()


def test_posterior_predictive_group_and_plots(sleep_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idata = sleep_fit.sample_posterior_predictive()
    pp = idata.posterior_predictive["Reaction"]
    assert pp.dims == ("chain", "draw", "obs") and pp.shape == (2, 1000, 180)
    for draw in (sleep_fit.plot_trace, sleep_fit.plot_ppc, sleep_fit.plot_ranef,
                 sleep_fit.plot_fixef):
        fig = draw()
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        plt.close(fig)
    # the model still compiles its log density afterwards (bridge sampling, LOO need it)
    assert np.isfinite(sleep_fit.model.pymc_model.compile_logp()(
        sleep_fit.model.pymc_model.initial_point()))


def test_prior_predictive(sleepstudy):
    import hglm
    prior = hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy).sample_prior_predictive(
        draws=100, seed=1)
    assert prior.prior_predictive["Reaction"].shape == (1, 100, 180)
    assert {"beta", "sd_Subject", "cor_Subject", "sigma"} <= set(prior.prior.data_vars)
