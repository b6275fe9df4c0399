import numpy as np
import pytest

import hglm
from hglm.spec.families import as_family


@pytest.mark.parametrize("name, link", [("gaussian", "identity"), ("poisson", "log"),
                                        ("binomial", "logit"), ("bernoulli", "logit"),
                                        ("negbinomial", "log")])
def test_default_links(name, link):
    assert as_family(name).link == link


def test_other_links_and_family_objects():
    assert hglm.Family("binomial", link="probit").link == "probit"
    assert as_family("bernoulli", "cloglog").link == "cloglog"
    assert as_family(hglm.Family("poisson")).name == "poisson"


@pytest.mark.parametrize("name, link, message", [("student", None, "unknown family"),
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
