"""cox(init=) as R coxph(..., init = ) (fixtures/cox_init from make_cox_init.R)."""

from __future__ import annotations

import numpy as np
import pytest

import riskset
from riskset.errors import OptionError
from tests.conftest import load_fixture, r_array, read_data
from tests.tolerances import ITERATIVE_RTOL


@pytest.mark.parametrize(("name", "max_iter"), [("lung_init", 20), ("lung_init_iter0", 0)])
def test_init_matches_r(name, max_iter):
    fx = load_fixture("cox_init", name)
    d = read_data("lung_cox.csv")
    fit = riskset.cox(d, time="time", event="event", covariates=["age", "sex", "ph.ecog"],
                      init=r_array(fx["init"]), max_iter=max_iter)
    np.testing.assert_allclose(fit.coef, r_array(fx["coef"]), rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(fit.variance_matrix, np.array(fx["var"]), rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(fit.loglik, r_array(fx["loglik"]), rtol=ITERATIVE_RTOL)
    assert fit.iterations == fx["iter"]
    assert fit.score_test["statistic"] == pytest.approx(fx["score"], rel=ITERATIVE_RTOL)
    assert fit.lr_test["statistic"] == pytest.approx(fx["lr"], rel=ITERATIVE_RTOL, abs=1e-9)


def test_init_zero_is_the_default_fit():
    d = read_data("lung_cox.csv")
    kw = dict(time="time", event="event", covariates=["age", "sex", "ph.ecog"])
    a, b = riskset.cox(d, **kw), riskset.cox(d, init=[0.0, 0.0, 0.0], **kw)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.loglik == b.loglik


def test_init_of_the_wrong_length_names_the_terms():
    d = read_data("lung_cox.csv")
    with pytest.raises(OptionError, match="one per term: age, sex, ph.ecog"):
        riskset.cox(d, time="time", event="event", covariates=["age", "sex", "ph.ecog"], init=[0.1])
