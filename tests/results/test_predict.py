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
