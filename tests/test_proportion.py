"""Binomial CIs against R binom.test (Clopper–Pearson) and prop.test(correct=FALSE) (Wilson)."""

from __future__ import annotations

import json

import pytest

from riskset._proportion import proportion_ci
from riskset.errors import OptionError
from tests.conftest import FIXTURES
from tests.tolerances import CLOSED_RTOL

CASES = json.loads((FIXTURES / "proportion" / "binomial.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['x']}/{c['n']}@{c['conf_level']:.2f}")
def test_against_r(case):
    cp = proportion_ci(case["x"], case["n"], conf_level=case["conf_level"])
    assert (cp.lower, cp.upper) == pytest.approx((case["cp_lower"], case["cp_upper"]), rel=CLOSED_RTOL, abs=1e-15)
    wi = proportion_ci(case["x"], case["n"], method="wilson", conf_level=case["conf_level"])
    assert (wi.lower, wi.upper) == pytest.approx((case["wilson_lower"], case["wilson_upper"]), rel=CLOSED_RTOL, abs=1e-15)


def test_seed_paper_dcr():
    # "DCR was 69.4% (95% CI, 59.3-78.3)": 68 of 98 with the exact interval
    p = proportion_ci(68, 98)
    assert (round(100 * p.estimate, 1), round(100 * p.lower, 1), round(100 * p.upper, 1)) == (69.4, 59.3, 78.3)


def test_bad_input():
    with pytest.raises(OptionError):
        proportion_ci(5, 3)
    with pytest.raises(OptionError):
        proportion_ci(1, 3, method="agresti")
