"""cvxpar.quantizers: bad steps are refused by every public function that takes one."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar import quantizers


@pytest.mark.parametrize("func", [quantizers.relative_spacing, quantizers.stochastic_round_variance,
                                  quantizers.stochastic_round_relative_variance])
@pytest.mark.parametrize("step", [-0.5, np.inf, np.nan])
def test_bad_step_is_refused(func, step):
    with pytest.raises(ValueError, match="finite nonnegative"):
        func(np.array([1.0, 2.5]), step)


def test_relative_spacing_is_the_binade_times_the_step():
    x = np.array([0.0, 0.75, 1.0, 1.5, -3.0, 6.0])
    np.testing.assert_array_equal(quantizers.relative_spacing(x, 0.25), [0.0, 0.125, 0.25, 0.25, 0.5, 1.0])
