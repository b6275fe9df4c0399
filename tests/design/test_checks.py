import numpy as np
import pytest

import hglm
from tests.conftest import toy_frame


@pytest.mark.parametrize("formula, family, edit, message", [
    ("y ~ nothere + (1|g)", "gaussian", None, "'nothere' of formula .* not in the data"),
    ("f ~ x + (1|g)", "gaussian", None, "needs a numeric response"),
    ("count ~ x + (1|g)", "poisson", lambda d: d.assign(count=d["count"] - 5), "negative"),
    ("e ~ x + (1|g)", "poisson", None, "non-integer"),
    ("e ~ x + (1|g)", "negbinomial", None, "non-integer"),
    ("p(succ, trials) ~ x + (1|g)", "binomial",
     lambda d: d.assign(succ=d["trials"] + 1),
     "successes exceed trials|'successes' cannot be greater than 'trials'"),
    ("p(succ, trials) ~ x + (1|g)", "binomial",
     lambda d: d.assign(succ=-d["succ"] - 1), "negative"),
    ("f ~ x + (1|g)", "bernoulli", None, "two values, but 'f' has 3"),
    ("count ~ x + (1|g)", "bernoulli", None, "0/1 response"),
    ("y ~ x + (1|one)", "gaussian", lambda d: d.assign(one="a"), "has 1 level"),
    ("y ~ x + (1|g)", "gaussian", lambda d: d.assign(x=np.nan), "no data left .* dropping 30"),
    ("y ~ x + (1|g)", "gaussian", lambda d: d.assign(x=np.r_[np.inf, d["x"][1:]]),
     "'x' has 1 infinite"),
    ("y ~ x + + (1|g)", "gaussian", None, "needs a term|cannot read formula"),
    ("y ~ x + (1|g", "gaussian", None, "unclosed bracket"),
    ("y ~ x $ z + (1|g)", "gaussian", None, "cannot read formula"),
    ("y ~ x + (1|obs)", "gaussian", lambda d: d.assign(obs=range(len(d))), "one level per"),
])
def test_bad_input_errors_before_sampling(formula, family, edit, message):
    df = toy_frame()
    if edit is not None:
        df = edit(df)
    with pytest.raises(ValueError, match=message):
        hglm.Model(formula, data=df, family=family)


def test_observation_level_effect_allowed_for_counts():
    df = toy_frame().assign(obs=lambda d: range(len(d)))
    m = hglm.Model("count ~ x + (1|obs)", data=df, family="poisson")
    assert m.design.blocks[0].n_levels == len(df)


def test_data_not_modified():
    df = toy_frame()
    df["yn"] = np.where(df.y > 0, "Y", "N")
    before = df.copy()
    hglm.Model("yn ~ x + (1|g)", data=df, family="bernoulli")
    assert df.equals(before)
