"""Minimal reproducers of the failure classes the fuzz oracles still tolerate (``fuzz_oracles.OPEN``).

Each runs the same oracle as the property tests and is a strict xfail while its class is open:
when the fix lands it XPASSes and fails loudly; then delete the class from ``OPEN`` (so the
property tests stop tolerating it) and the xfail marker here (so this stays as its regression test).
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_oracles import OPEN
from test_fuzz_prox import check_prox

import cvxpar
from cvxpar import grids, pars


def _open(cls: str):
    return pytest.mark.xfail(cls in OPEN, strict=True, reason=OPEN.get(cls, ""))


@_open("prox-overflow")
def test_nonconvex_prox_with_huge_t():
    """issue 13 (7): t * slope ~ 1e155 returned [-1, -1, -1]; the prox is [.5, .5, 1]."""
    check_prox(pars.sawtooth(grids.uniform(0.5, 5)), np.array([0.3, 0.7, 5.0]), 1e155)


@_open("prox-overflow-large-v")
def test_nonconvex_prox_with_huge_v():
    """|v| above ~1.4e154 with t = 1 (found by the fuzz suite): the prox returned 0.5 for v = 1e155
    (quasiconvex) and 0.75 / -1 for v = +/-1e155 (sawtooth) instead of about v - t*slope."""
    quasi = cvxpar.PAR([-1.0, -0.5, 0.0, 0.5, 1.0], [0.75, 0.625, 0.0, 0.625, 0.75], -1.25, 1.25)
    check_prox(quasi, np.array([1e155]), 1.0)


@_open("prox-overflow-large-v")
def test_sawtooth_prox_with_huge_v():
    check_prox(pars.sawtooth(grids.uniform(0.5, 5)), np.array([1e155, -1e155, 1e300]), 1.0)
