"""cvxpar.batch.solve_batch: lambda sweeps and many right-hand sides, checked column by column
against CVXPY + Clarabel (independent reference), against cvxpar.solve, and across backends
(NumPy, array_api_strict on two devices, PyTorch CPU)."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
from array_backends import backends

import cvxpar
from cvxpar.batch import BatchResult, solve_batch
from cvxpar.certificate import certificate
from cvxpar.constraints import Box, Simplex
from cvxpar.losses import LeastSquares, Logistic
from cvxpar.result import SolveResult
from cvxpar.solve import solve

GRID = cvxpar.grids.uniform(0.25, 9)
L1 = cvxpar.pars.l1(GRID)
RIDGE = cvxpar.pars.ridge(GRID)
MCP = cvxpar.pars.mcp(GRID, 2.0)


def _data(m=50, n=80, k=3, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x_true = cvxpar.snap(rng.standard_normal(n), GRID) * (rng.random(n) < 0.3)
    b = A @ x_true + 0.1 * rng.standard_normal(m)
    B = A @ rng.standard_normal((n, k)) * 0.3 + 0.1 * rng.standard_normal((m, k))
    return A, b, B


def _cvxpy_values(A, B, psi, lams, box=None):
    """Optimal values by CVXPY + Clarabel with psi written as a max of affine pieces (a DPP sweep)."""
    n = A.shape[1]
    x, lam, b = cp.Variable(n), cp.Parameter(nonneg=True), cp.Parameter(A.shape[0])
    slopes, intercepts = psi.max_affine()
    pen = cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)])) if slopes.size > 1 else cp.sum(slopes[0] * x + intercepts[0])
    cons = [] if box is None else [x >= box[0], x <= box[1]]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * pen), cons)
    values = []
    for j, lj in enumerate(lams):
        lam.value, b.value = lj, B[:, j]
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
        values.append(prob.value)
    return np.array(values)


def _check_certified(res: BatchResult, A, B, psi, tol=1e-8, constraints=None):
    for j, col in enumerate(res):
        cert = certificate(LeastSquares(A, B[:, j]), psi, res.lams[j], col.x, constraints)
        assert cert.certifies(10 * tol), (j, cert)
        assert col.objective == pytest.approx(cert.objective, rel=1e-12)


# ---------------------------------------------------------------------- NumPy: correctness
@pytest.mark.parametrize("psi", [L1, RIDGE], ids=["l1", "ridge"])
def test_lambda_sweep_matches_clarabel(psi):
    A, b, _ = _data()
    lams = np.geomspace(0.05, 8.0, 6)
    res = solve_batch(LeastSquares(A, b), psi, lams)
    assert res.status == ["optimal"] * 6
    B = np.repeat(b[:, None], 6, axis=1)
    ref = _cvxpy_values(A, B, psi, lams)
    np.testing.assert_allclose(res.objective, ref, rtol=1e-7)
    assert all(g is not None and abs(g) <= 1e-6 * max(1.0, abs(v)) for g, v in zip(res.gap, res.objective, strict=True))
    _check_certified(res, A, B, psi)


def test_many_right_hand_sides_match_clarabel_and_solve():
    A, b, B = _data(k=4)
    res = solve_batch(LeastSquares(A, b), L1, 0.7, rhs=B)
    assert len(res) == 4 and res.x.shape == (80, 4)
    np.testing.assert_allclose(res.objective, _cvxpy_values(A, B, L1, [0.7] * 4), rtol=1e-7)
    for j in range(4):
        single = solve(LeastSquares(A, B[:, j]), L1, 0.7)
        assert single.objective == pytest.approx(res.objective[j], rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(res.x[:, j], single.x, atol=1e-6)


def test_paired_lams_and_right_hand_sides():
    A, b, B = _data(k=3)
    lams = [0.2, 1.0, 4.0]
    res = solve_batch(LeastSquares(A, b), L1, lams, rhs=B)
    for j in range(3):
        single = solve(LeastSquares(A, B[:, j]), L1, lams[j])
        assert single.objective == pytest.approx(res.objective[j], rel=1e-9, abs=1e-12)


def test_box_constraint_matches_clarabel():
    A, b, _ = _data()
    lams = [0.1, 1.0]
    box = Box(-0.5, 0.75)
    res = solve_batch(LeastSquares(A, b), L1, lams, constraints=box)
    assert res.status == ["optimal", "optimal"]
    assert float(res.x.min()) >= -0.5 and float(res.x.max()) <= 0.75
    B = np.repeat(b[:, None], 2, axis=1)
    np.testing.assert_allclose(res.objective, _cvxpy_values(A, B, L1, lams, box=(-0.5, 0.75)), rtol=1e-7)
    _check_certified(res, A, B, L1, constraints=box)


def test_nonconvex_psi_gives_certified_stationary_points():
    A, b, _ = _data()
    B = np.repeat(b[:, None], 2, axis=1)
    for momentum, method in ((True, "fista-batch"), (False, "pg-batch")):
        res = solve_batch(LeastSquares(A, b), MCP, [0.3, 2.0], momentum=momentum)
        assert res.method == method
        assert res.status == ["stationary", "stationary"]
        assert all(g is None for g in res.gap)
        _check_certified(res, A, B, MCP)


def test_result_interface():
    A, b, _ = _data()
    lams = np.array([0.5, 2.0])
    res = solve_batch(LeastSquares(A, b), L1, lams)
    cols = list(res)
    assert all(isinstance(c, SolveResult) for c in cols)
    assert cols[1].info["lam"] == 2.0 and cols[1].method == "fista-batch"
    np.testing.assert_array_equal(cols[0].x, res.x[:, 0])
    assert cols[0].quantization_rate == res.quantization_rate[0] and 0 < cols[0].quantization_rate <= 1
    assert "BatchResult(k=2" in repr(res)
    assert res.iterations.dtype.kind == "i" and (res.iterations > 0).all()


def test_warm_start_at_the_solution_stops_at_once():
    A, b, _ = _data()
    first = solve_batch(LeastSquares(A, b), L1, [0.5, 2.0])
    again = solve_batch(LeastSquares(A, b), L1, [0.5, 2.0], x0=first.x, tol=1e-7)
    assert (again.iterations == 0).all()
    np.testing.assert_array_equal(again.x, first.x)


def test_columns_stop_independently():
    """A large lam (x = 0 quickly) stops long before a small one; iterations are per column."""
    A, b, _ = _data()
    res = solve_batch(LeastSquares(A, b), L1, [0.01, 1e4])
    assert res.iterations[1] < res.iterations[0]
    assert float(np.abs(res.x[:, 1]).max()) == 0.0


def test_max_iter_is_reported():
    A, b, _ = _data()
    res = solve_batch(LeastSquares(A, b), L1, [0.05, 0.1], max_iter=5, check_every=1)
    assert res.status == ["max_iter", "max_iter"]
    assert (res.iterations == 5).all()


@pytest.mark.parametrize("psi", [L1, MCP], ids=["convex", "nonconvex"])
@pytest.mark.parametrize("max_iter", [3, 40, None])
def test_statuses_follow_the_certificate_of_each_column(psi, max_iter):
    """Each column's status is the shared rule on its own certificate: certified to tol -> optimal
    (stationary), a convex column within 1e3 tol -> optimal_inaccurate, else max_iter; without certificates
    every column is max_iter (uncertified), and info["loop_converged"] is the loop's own residual test."""
    A, b, _ = _data()
    lams = [0.02, 0.3, 3.0]
    res = solve_batch(LeastSquares(A, b), psi, lams, max_iter=max_iter, check_every=1)
    tol = res.info["tol_effective"]
    for j, lam in enumerate(lams):
        cert = certificate(LeastSquares(A, b), psi, lam, res.x[:, j])
        if cert.certifies(tol):
            want = "optimal" if psi.is_convex else "stationary"
        elif psi.is_convex and cert.certifies(1e3 * tol):
            want = "optimal_inaccurate"
        else:
            want = "max_iter"
        assert res.status[j] == want and res[j].message
        assert res.residual[j] == cert.residual
    loop = solve_batch(LeastSquares(A, b), psi, lams, max_iter=max_iter, check_every=1, certify=False)
    for j in range(len(lams)):
        scale = max(1.0, float(np.max(np.abs(A.T @ (A @ loop.x[:, j] - b)))))
        ok = loop.residual[j] <= tol * scale
        assert bool(loop.info["loop_converged"][j]) == ok
        assert loop.status[j] == "max_iter"  # before the fix: "optimal"/"stationary" from the loop's own residual
        assert "not certified (certify=False)" in loop[j].message


def test_underestimated_lipschitz_is_raised_by_the_curvature_check():
    A, b, _ = _data()
    loss = LeastSquares(A, b)
    true_L = np.linalg.norm(A, 2) ** 2
    loss._L = true_L / 8  # a wrong, too small estimate: plain FISTA would diverge
    res = solve_batch(loss, L1, [0.5, 2.0])
    assert res.status == ["optimal", "optimal"]
    assert res.info["lipschitz"] >= true_L / 8 * 1.5


def test_float32_iterates_with_float64_certificates():
    A, b, _ = _data()
    lams = [0.3, 3.0]
    res32 = solve_batch(LeastSquares(A.astype(np.float32), b.astype(np.float32)), L1, lams)
    res64 = solve_batch(LeastSquares(A, b), L1, lams)
    assert res32.x.dtype == np.float32
    assert res32.info["tol_effective"] > 1e-8  # float32 cannot certify 1e-8
    np.testing.assert_allclose(res32.objective, res64.objective, rtol=1e-5)
    assert all(s in ("optimal", "optimal_inaccurate") for s in res32.status)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lams": [-1.0]}, "nonnegative"),
        ({"lams": [1.0, 2.0], "rhs": np.zeros((50, 3))}, "one of each per column"),
        ({"lams": 1.0, "rhs": np.zeros((49, 2))}, r"\(50, k\)"),
        ({"lams": 1.0, "constraints": Simplex()}, "scalar bounds"),
        ({"lams": 1.0, "check_every": 0}, "check_every"),
        ({"lams": 1.0, "x0": np.zeros(3)}, "x0 must have shape"),
    ],
)
def test_input_errors(kwargs, match):
    A, b, _ = _data()
    with pytest.raises(ValueError, match=match):
        solve_batch(LeastSquares(A, b), L1, **kwargs)


def test_other_losses_are_refused():
    from scipy.sparse.linalg import aslinearoperator

    A, b, _ = _data()
    with pytest.raises(TypeError, match="LeastSquares"):
        solve_batch(Logistic(A, np.sign(b) + (b == 0)), L1, 1.0)
    with pytest.raises(TypeError, match="with a operator A"):
        solve_batch(LeastSquares(aslinearoperator(A), b), L1, 1.0)


def test_sparse_A_matches_dense():
    import scipy.sparse as sp

    A, b, B = _data()
    A[np.abs(A) < 1.0] = 0.0
    lams = [0.3, 2.0]
    dense = solve_batch(LeastSquares(A, b), L1, lams)
    sparse = solve_batch(LeastSquares(sp.csr_array(A), b), L1, lams)
    assert isinstance(sparse.x, np.ndarray)
    np.testing.assert_allclose(sparse.x, dense.x, atol=1e-12)
    np.testing.assert_allclose(sparse.objective, dense.objective, rtol=1e-12)
    rhs = solve_batch(LeastSquares(sp.csc_array(A), b), L1, 0.5, rhs=B)
    np.testing.assert_allclose(rhs.objective, solve_batch(LeastSquares(A, b), L1, 0.5, rhs=B).objective, rtol=1e-12)


# ---------------------------------------------------------------------- backends
def _to_numpy(a):
    from array_api_compat import device, to_device

    if hasattr(a, "cpu"):
        return a.cpu().numpy()
    import array_api_strict as xs

    return np.asarray(to_device(a, xs.Device("CPU_DEVICE")) if device(a) != xs.Device("CPU_DEVICE") else a)


@pytest.mark.parametrize("mk", backends())
@pytest.mark.parametrize("psi", [L1, RIDGE, MCP], ids=["l1", "ridge", "mcp"])
def test_backends_match_numpy_and_stay_on_device(mk, psi):
    from array_api_compat import array_namespace, device

    A, b, B = _data(m=20, n=30, k=3)
    lams = [0.5, 1.5, 3.0]
    want = solve_batch(LeastSquares(A, b), psi, lams)
    want_rhs = solve_batch(LeastSquares(A, b), psi, 0.5, rhs=B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "non-writable NumPy array"
        A_, b_, B_ = mk(A), mk(b), mk(B)
    for got, ref in ((solve_batch(LeastSquares(A_, b_), psi, lams), want), (solve_batch(LeastSquares(A_, b_), psi, 0.5, rhs=B_), want_rhs)):
        assert array_namespace(got.x) is array_namespace(A_)
        assert device(got.x) == device(A_)
        assert got.status == ref.status
        np.testing.assert_allclose(got.objective, ref.objective, rtol=1e-12)
        np.testing.assert_allclose(_to_numpy(got.x), ref.x, atol=1e-12)
        assert device(got[0].x) == device(A_)


def test_progress_counts_finished_columns(capsys, monkeypatch):
    import cvxpar._progress as progress

    monkeypatch.setattr(progress, "_tqdm", lambda: None)  # the plain-line form, whatever is installed
    A, b, _ = _data()
    lams = [0.3, 3.0, 30.0]
    quiet = solve_batch(LeastSquares(A, b), L1, lams)
    shown = solve_batch(LeastSquares(A, b), L1, lams, progress=True)
    np.testing.assert_array_equal(shown.x, quiet.x)
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("solve_batch: ") for line in lines)
    assert lines[-1] == "solve_batch: 3/3 columns done"
    done = [int(line.split()[1].split("/")[0]) for line in lines]
    assert done == sorted(done) and len(set(done)) == len(done)  # one line each time columns finish


# ---------------------------------------------------------------------- unbounded columns
BELOW_ZERO = cvxpar.pars.ridge(cvxpar.grids.uniform(0.25, 4, -2.0))  # slopes -2.5 .. -1.5: decreasing to the right


def _clarabel_verdict(A, b, psi, lam, constraints=None):
    """Clarabel's status on the CVXPY model of one column (convex psi)."""
    x = cp.Variable(A.shape[1])
    cons = [c for item in cvxpar.constraints.as_list(constraints) for c in item.cvxpy(x)]
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * cp.sum(cvxpar.par(x, psi))), cons)
    problem.solve(solver=cp.CLARABEL)
    return problem.status


@pytest.mark.parametrize(("shape", "psi", "constraints"), [
    ((6, 15), BELOW_ZERO, None),                                   # wide: A has a null space
    ((6, 15), cvxpar.PAR([0.0, 1.0], [0.0, 1.0], 0.5, 1.5), None),  # psi decreases to the left
    ((6, 15), cvxpar.PAR([0.0, 1.0], [0.0, 1.0], 0.5, 1.5), cvxpar.constraints.NonNeg()),  # ... which NonNeg blocks
    ((6, 15), BELOW_ZERO, Box(-np.inf, 3.0)),                      # the upper bound blocks the ray
    ((25, 8), BELOW_ZERO, None),                                    # tall, full column rank: bounded
])
def test_batch_unbounded_columns_agree_with_clarabel_and_solve(shape, psi, constraints):
    """Each column's status is Clarabel's verdict (unbounded or optimal), like cvxpar.solve's; lam = 0 columns
    are plain least squares, bounded.  Before the fix every unbounded column ran to max_iter."""
    rng = np.random.default_rng(sum(shape))
    A = rng.standard_normal(shape)
    B = rng.standard_normal((shape[0], 3))
    lams = [0.0, 0.3, 2.0]
    res = solve_batch(LeastSquares(A, B[:, 0]), psi, lams, rhs=B, constraints=constraints)
    for j, col in enumerate(res):
        clarabel = _clarabel_verdict(A, B[:, j], psi, lams[j], constraints)
        single = solve(LeastSquares(A, B[:, j]), psi, lams[j], constraints=constraints)
        if clarabel in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
            assert col.status == single.status == "unbounded", (j, col.message)
            assert col.iterations == 0 and col.objective == -np.inf and np.isnan(col.x).all()
            v = col.info["direction"]
            assert np.abs(A @ v).max() <= 1e-12 * np.abs(A).sum(axis=1).max()
            x_feasible = np.full(A.shape[1], -1.0 if constraints is None else 0.0)
            F = lambda y, b=B[:, j], lam=lams[j]: 0.5 * np.sum((A @ y - b) ** 2) + lam * np.sum(psi(y))  # noqa: E731
            t = 1e4  # past every breakpoint: F is affine in t along v, with slope F_inf(v)
            assert F(x_feasible + 2 * t * v) - F(x_feasible + t * v) == pytest.approx(t * col.info["rate"], rel=1e-6)
            assert "unbounded below" in col.message
        else:
            assert clarabel == cp.OPTIMAL
            assert col.status == single.status == "optimal", (j, col.message)
            assert col.objective == pytest.approx(single.objective, rel=1e-7, abs=1e-9)


def test_batch_unbounded_with_a_concave_tail_and_other_backends():
    """A nonconvex psi whose tails both descend (concave at infinity) on a wide A: every lam > 0 column is
    unbounded (as cvxpar.solve and cvxpar.reference say), on NumPy, array_api_strict and certify=False alike."""
    import array_api_strict as xs

    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((4, 10)), rng.standard_normal(4)
    concave = cvxpar.PAR([0.0, 1.0], [0.0, 1.0], 0.5, -0.5)
    assert cvxpar.reference(LeastSquares(A, b), concave, 1.0).status == "unbounded"
    for loss, certify in ((LeastSquares(A, b), True), (LeastSquares(A, b), False),
                          (LeastSquares(xs.asarray(A), xs.asarray(b)), True)):
        res = solve_batch(loss, concave, [1.0, 0.0, 0.5], certify=certify, max_iter=2000)
        assert res.status[0] == res.status[2] == "unbounded"
        assert res.status[1] == ("stationary" if certify else "max_iter")  # certify=False certifies nothing
        assert (res.objective[[0, 2]] == -np.inf).all() and np.isnan(res[0].x).all() and np.isnan(res[2].x).all()
        assert np.isfinite(res.objective[1]) or not certify  # certify=False computes no objective


# ---------------------------------------------------------------------- the honest contract of certify
def _documented_statuses() -> set[str]:
    """The status names the BatchResult docstring lists for its ``status`` field."""
    import re

    doc = BatchResult.__doc__.split("status : list of str", 1)[1].split("objective, iterations", 1)[0]
    return set(re.findall(r'``"([a-z_]+)"``', doc))


def test_every_documented_batch_status_is_a_result_status():
    names = _documented_statuses()
    assert {"optimal", "stationary", "optimal_inaccurate", "max_iter", "unbounded", "diverged"} <= names
    assert names <= set(cvxpar.result.STATUSES)


@pytest.mark.parametrize("psi", [L1, MCP], ids=["convex", "nonconvex"])
def test_uncertified_columns_are_never_optimal_and_certified_ones_agree_with_the_certificate(psi):
    """certify=False used to report "optimal"/"stationary" from the loop's own residual, in the iteration dtype
    and without the certificate: now those columns are "max_iter" (stopped uncertified).  certify=True still
    certifies each column: its status is the shared rule on an independent certificate, and the optimal
    values agree with Clarabel.  Every status produced is one cvxpar.result documents."""
    A, b, _ = _data()
    lams = [0.05, 0.5, 5.0]
    B = np.repeat(b[:, None], 3, axis=1)
    for dtype in (np.float64, np.float32):
        loss = LeastSquares(A.astype(dtype), b.astype(dtype))
        loop = solve_batch(loss, psi, lams, certify=False)
        assert loop.info["loop_converged"].all()  # every column met the loop's own test ...
        assert loop.status == ["max_iter"] * 3  # ... which certifies nothing
        assert all("not certified (certify=False)" in m for m in loop.message)
        certified = solve_batch(loss, psi, lams)
        np.testing.assert_array_equal(certified.x, loop.x)  # the same loop; only the statuses differ
        tol = certified.info["tol_effective"]
        for j, lam in enumerate(lams):
            cert = certificate(LeastSquares(A, b), psi, lam, certified.x[:, j].astype(np.float64))
            want = ("optimal" if psi.is_convex else "stationary") if cert.certifies(tol) else None
            assert want is None or certified.status[j] == want
            assert certified.status[j] in (("optimal", "optimal_inaccurate") if psi.is_convex else ("stationary",))
        produced = set(loop.status) | set(certified.status)
        assert produced <= _documented_statuses() <= set(cvxpar.result.STATUSES)
    if psi.is_convex:
        np.testing.assert_allclose(solve_batch(LeastSquares(A, b), psi, lams).objective,
                                   _cvxpy_values(A, B, psi, lams), rtol=1e-7)


def test_uncertified_max_iter_and_unbounded_statuses_are_documented():
    """The other ends, with and without certificates: max_iter and unbounded, each a documented status."""
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((4, 10)), rng.standard_normal(4)
    for certify in (True, False):
        short = solve_batch(LeastSquares(A, b), L1, [0.01, 0.1], max_iter=2, check_every=1, certify=certify)
        assert short.status == ["max_iter", "max_iter"] and not short.info["loop_converged"].any()
        unbounded = solve_batch(LeastSquares(A, b), BELOW_ZERO, [1.0], certify=certify)
        assert unbounded.status == ["unbounded"]
        assert set(short.status) | set(unbounded.status) <= _documented_statuses()
