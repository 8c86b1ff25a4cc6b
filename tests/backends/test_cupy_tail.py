"""The fused FISTA tail: the kernel's packed-table search emulated on the CPU against the prox, the
array-API step (the kernel's reference) by hand, and the CuPy kernel, cuBLAS products and batched
solve against that reference (GPU, skipped without one)."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar import _cupy_kernels as ck
from cvxpar import batch

GRID = cvxpar.grids.uniform(0.25, 9)
PSIS = {
    "l1": cvxpar.pars.l1(GRID),
    "ridge": cvxpar.pars.ridge(GRID),
    "mcp": cvxpar.pars.mcp(GRID, 2.0),
    "parq": cvxpar.pars.parq(cvxpar.grids.uniform(0.5, 5)),
    "l1-boxed": cvxpar.pars.l1(GRID).restrict(-0.6, 0.9),
    "single-kink": cvxpar.PAR([0.0], [0.0], -1.0, 1.0),
}


def _state(rng, n, k, dtype, scale=1.0):
    x = (scale * rng.standard_normal((n, k))).astype(dtype)
    x_prev = (x + 0.1 * rng.standard_normal((n, k))).astype(dtype)
    g = rng.standard_normal((n, k)).astype(dtype)
    g_prev = (g + 0.1 * rng.standard_normal((n, k))).astype(dtype)
    beta = rng.uniform(0.0, 0.9, k)
    beta[0] = 0.0
    lam = rng.uniform(0.0, 2.0, k)
    lam[-1] = 0.0
    return x, x_prev, g, g_prev, beta, lam


def _snap_some(psi, x, rng):
    """Put about a third of the entries exactly on breakpoints (where the subdifferential is an interval)."""
    q = psi.breakpoints
    mask = rng.random(x.shape) < 0.35
    x[mask] = q[rng.integers(0, q.size, mask.sum())]
    lo, hi = psi.domain
    return np.clip(x, lo, hi)


def _state_on_domain(psi, rng, n, k, dtype):
    """A state with about a third of x on breakpoints and x, x_prev inside psi's domain."""
    x, x_prev, g, g_prev, beta, lam = _state(rng, n, k, dtype)
    x = _snap_some(psi, x, rng).astype(dtype)
    x_prev = np.clip(x_prev, *psi.domain).astype(dtype)
    return x, x_prev, g, g_prev, beta, lam


def _kernel_search(v, tau, tables):
    """The CUDA kernel's prox rule emulated column by column: search the packed thresholds, then take
    piece a and (if the tables are not exact) its neighbours a - 1, a + 1, compared by the prox's own
    candidate and tie rule (:mod:`cvxpar.prox`)."""
    from cvxpar.prox import _candidate, _pick

    out = np.empty_like(v)
    fields = ("slope", "lo", "hi", "ax", "av", "ex", "ev")
    for j in range(v.shape[1]):
        npc = int(tables.n_pieces[j])
        vj = v[:, j]
        a = np.searchsorted(tables.thr[j, : npc - 1], vj, side="left")

        def candidate(k, j=j, vj=vj):
            slope, lo, hi, ax, av, ex, ev = (getattr(tables, f)[j, k] for f in fields)
            return _candidate(np, vj, tau[j] * slope, slope, lo, hi, ax, av, ex, ev)

        best = candidate(a)
        if not tables.exact:
            for step in (-1, 1):
                best = _pick(np, best, candidate(np.clip(a + step, 0, npc - 1)), float(tau[j]), vj)
        out[:, j] = np.where(np.isnan(vj), vj, best[0])
    return out


@pytest.mark.parametrize("name", list(PSIS))
def test_kernel_search_on_packed_tables_is_the_prox(name):
    """The packed tables (padding included) with the kernel's search give psi.prox, at ordinary and extreme steps."""
    psi = PSIS[name]
    rng = np.random.default_rng(7)
    v = np.concatenate([rng.standard_normal(300) * 2, psi.breakpoints, [1e200, -1e200, 0.0]])
    taus = np.array([0.0, 1e-300, 0.37, 2.5, 1e155])
    with np.errstate(over="ignore"):  # 1e200 * 1e155 in the comparison of two candidates, as in psi.prox
        got = _kernel_search(np.repeat(v[:, None], taus.size, axis=1), taus, ck.pack_tables(psi, taus))
        for j, tau in enumerate(taus):
            np.testing.assert_array_equal(got[:, j], psi.prox(v, tau))


def test_reference_by_hand_soft_threshold():
    """psi = |x|: x_new = soft(y - t grad_y, t lam) with y and grad_y the extrapolations (docstring formulas)."""
    psi = PSIS["single-kink"]
    rng = np.random.default_rng(1)
    x, x_prev, g, g_prev, beta, lam = _state(rng, 50, 3, np.float64)
    x[:5] = 0.0
    t = 0.5
    y = x + beta * (x - x_prev)
    gy = (1 + beta) * g - beta * g_prev
    u = y - t * gy
    want = np.sign(u) * np.maximum(np.abs(u) - t * lam, 0.0)
    x_new, p, r, s = batch.array_tail(np, psi, x, x_prev, g, g_prev, beta, lam, t)
    np.testing.assert_allclose(x_new, want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p, np.sum((y - want) * (want - x), axis=0), rtol=1e-13)
    # stationarity of x: |g| <= lam at 0, |g + lam sign(x)| elsewhere (skglm's L1.subdiff_distance)
    dist = np.where(x == 0, np.maximum(np.abs(g) - lam, 0), np.abs(g + lam * np.sign(x)))
    np.testing.assert_allclose(r, dist.max(axis=0), rtol=1e-13)
    np.testing.assert_allclose(s, np.abs(g).max(axis=0), rtol=1e-15)


def test_reference_without_residual_skips_it():
    psi = PSIS["l1"]
    rng = np.random.default_rng(2)
    x, x_prev, g, g_prev, beta, lam = _state(rng, 20, 2, np.float64)
    _, _, r, s = batch.array_tail(np, psi, x, x_prev, g, g_prev, beta, lam, 0.3, False)
    assert r is None and s is None


def test_pack_tables_rows_are_the_prox_tables():
    psi = PSIS["mcp"]
    taus = np.array([0.0, 0.2, 1.5, 7.0])
    packed = ck.pack_tables(psi, taus)
    for j, tau in enumerate(taus):
        tb = cvxpar.prox.prox_table(psi, float(tau))
        npc = packed.n_pieces[j]
        assert npc == tb.slope.size
        np.testing.assert_array_equal(packed.thr[j, : npc - 1], tb.thresholds)
        assert np.all(packed.thr[j, npc - 1 :] == np.inf)
        np.testing.assert_array_equal(packed.slope[j, :npc], tb.slope)
    assert packed.exact is False
    assert ck.pack_tables(PSIS["l1"], taus).exact is True


def test_momentum_formula_and_restart():
    xp = cvxpar._backend.array_namespace(np.zeros(1))
    theta = np.array([1.0, 2.0, 5.0])
    p = np.array([-1.0, 0.5, -0.1])
    th, beta = ck.momentum(xp, theta, p, True)
    nxt = (1 + np.sqrt(1 + 4 * theta**2)) / 2
    np.testing.assert_allclose(th, [nxt[0], 1.0, nxt[2]])
    np.testing.assert_allclose(beta, [(theta[0] - 1) / nxt[0], 0.0, (theta[2] - 1) / nxt[2]])
    th, beta = ck.momentum(xp, theta, p, False)
    np.testing.assert_array_equal(th, 1.0)
    np.testing.assert_array_equal(beta, 0.0)


class _ReferenceTail(ck.FistaTail):
    """FistaTail's bookkeeping (select, set_step, tables) with the array-API step in place of the kernel."""

    def __init__(self, psi, lam, t):
        self.psi, self.lam_host, self.t = psi, np.asarray(lam, dtype=np.float64), float(t)
        self._upload()

    def _upload(self):
        self.tables = ck.pack_tables(self.psi, self.t * self.lam_host)

    def __call__(self, x, x_prev, g, g_prev, beta, want_residual):
        return batch.array_tail(np, self.psi, x, x_prev, g, g_prev, beta, self.lam_host, self.t, want_residual)


@pytest.mark.parametrize("name", ["l1", "ridge", "l1-boxed"])
def test_solver_loop_on_the_kernel_interface_gives_the_same_iterates(monkeypatch, name):
    """The batched loop driven through FistaTail's interface (the NumPy reference standing in for
    the CUDA kernel: column selection as columns converge, step changes, momentum) reproduces the
    array-API run iterate for iterate."""
    from cvxpar.losses import LeastSquares

    psi = PSIS[name]
    rng = np.random.default_rng(8)
    A = rng.standard_normal((40, 60))
    b = rng.standard_normal(40)
    loss = LeastSquares(A, b)
    lams = [0.05, 0.5, 5.0]
    loss._L = np.linalg.norm(A, 2) ** 2 / 4  # too small: exercises the step change (set_step) too
    want = batch.solve_batch(loss, psi, lams)
    xp = cvxpar._backend.array_namespace(A)
    monkeypatch.setattr(
        batch, "_tail_engine", lambda xp_, psi_, lam, t, use_kernel: (_ReferenceTail(psi_, lam, t), lambda th, p, acc: ck.momentum(xp, th, p, acc))
    )
    loss._L = np.linalg.norm(A, 2) ** 2 / 4
    got = batch.solve_batch(loss, psi, lams)
    assert got.info["lipschitz"] == want.info["lipschitz"] > np.linalg.norm(A, 2) ** 2 / 4
    np.testing.assert_array_equal(got.iterations, want.iterations)
    np.testing.assert_array_equal(got.x, want.x)
    assert len(set(want.iterations)) > 1  # the columns stopped at different checks


# ---------------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.parametrize("name", list(PSIS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cupy_kernel_matches_reference(cp_gpu, name, dtype):
    psi = PSIS[name]
    rng = np.random.default_rng(3)
    n, k, t = 2000, 7, 0.41
    x, x_prev, g, g_prev, beta, lam = _state_on_domain(psi, rng, n, k, dtype)
    ref = batch.array_tail(np, psi, x, x_prev, g, g_prev, beta, lam, t)
    tail = ck.FistaTail(psi, lam, t)
    dev = [cp_gpu.asarray(a) for a in (x, x_prev, g, g_prev, beta)]
    got = tail(*dev, True)
    assert got[0].dtype == dtype
    # compiled without FMA contraction, the elementwise part rounds exactly as the reference
    np.testing.assert_allclose(got[0].get(), ref[0], rtol=0, atol=0 if psi.is_convex else 1e-12)
    # the column sums run in another order: compare to the rounding of a sum of n terms
    np.testing.assert_allclose(got[1].get(), ref[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(got[2].get(), ref[2], rtol=1e-12, atol=1e-14)  # maxima are exact up to the
    np.testing.assert_allclose(got[3].get(), ref[3], rtol=0, atol=0)  # element-wise rounding
    x_new, p, r, s = tail(*dev, False)
    assert r is None and s is None
    np.testing.assert_array_equal(x_new.get(), got[0].get())
    np.testing.assert_allclose(p.get(), ref[1], rtol=1e-10, atol=1e-9)
    tail.select([0, 3])
    got = tail(*[a[:, [0, 3]] if a.ndim == 2 else a[[0, 3]] for a in dev], True)
    np.testing.assert_allclose(got[2].get(), ref[2][[0, 3]], rtol=1e-12, atol=1e-14)


@pytest.mark.gpu
def test_cupy_momentum_matches(cp_gpu):
    xp = cvxpar._backend.array_namespace(np.zeros(1))
    theta = np.array([1.0, 2.0, 5.0])
    p = np.array([-1.0, 0.5, -0.1])
    for accelerate in (True, False):
        th, beta = ck.momentum_cupy(cp_gpu.asarray(theta), cp_gpu.asarray(p), accelerate)
        want = ck.momentum(xp, theta, p, accelerate)
        np.testing.assert_allclose(th.get(), want[0])
        np.testing.assert_allclose(beta.get(), want[1])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cublas_products_read_A_in_place(cp_gpu, dtype):
    rng = np.random.default_rng(4)
    A = cp_gpu.asarray(rng.standard_normal((70, 40)).astype(dtype))
    X = cp_gpu.asarray(rng.standard_normal((40, 3)).astype(dtype))
    R = cp_gpu.asarray(rng.standard_normal((70, 3)).astype(dtype))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    out = cp_gpu.empty((70, 3), dtype=dtype)
    np.testing.assert_allclose(ck.gemm(A, X, out).get(), (A @ X).get(), rtol=rtol)
    out = cp_gpu.empty((40, 3), dtype=dtype)
    np.testing.assert_allclose(ck.gemm(A, R, out, trans=True).get(), (A.T @ R).get(), rtol=rtol)
    out = cp_gpu.empty(40, dtype=dtype)
    np.testing.assert_allclose(ck.gemm(A, R[:, 0].copy(), out, trans=True).get(), (A.T @ R[:, 0]).get(), rtol=rtol)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["l1", "ridge", "mcp"])
def test_batched_solve_on_cupy_matches_numpy(cp_gpu, name):
    from cvxpar.losses import LeastSquares

    psi = PSIS[name]
    rng = np.random.default_rng(5)
    A = rng.standard_normal((80, 120))
    b = rng.standard_normal(80)
    lams = np.geomspace(0.1, 3.0, 6)
    want = batch.solve_batch(LeastSquares(A, b), psi, lams)
    loss = LeastSquares(cp_gpu.asarray(A), cp_gpu.asarray(b))
    for fused in (True, False):
        got = batch.solve_batch(loss, psi, lams, fused=fused)
        assert isinstance(got.x, cp_gpu.ndarray)
        assert got.info["fused_kernels"] is fused
        assert got.status == want.status
        np.testing.assert_allclose(got.objective, want.objective, rtol=1e-9)
        np.testing.assert_allclose(got.x.get(), want.x, atol=1e-6)


@pytest.mark.gpu
def test_batched_float32_and_many_rhs_on_cupy(cp_gpu):
    from cvxpar.losses import LeastSquares

    rng = np.random.default_rng(6)
    A = rng.standard_normal((60, 90))
    B = rng.standard_normal((60, 5))
    loss64 = LeastSquares(A, B[:, 0])
    want = batch.solve_batch(loss64, PSIS["l1"], 0.5, rhs=B)
    loss32 = LeastSquares(cp_gpu.asarray(A, dtype=np.float32), cp_gpu.asarray(B[:, 0], dtype=np.float32))
    got = batch.solve_batch(loss32, PSIS["l1"], 0.5, rhs=cp_gpu.asarray(B, dtype=np.float32))
    assert got.x.dtype == np.float32
    np.testing.assert_allclose(got.objective, want.objective, rtol=1e-5)


def test_fused_needs_cupy():
    from cvxpar.losses import LeastSquares

    with pytest.raises(ValueError, match="CuPy"):
        batch.solve_batch(LeastSquares(np.eye(3), np.ones(3)), PSIS["l1"], 1.0, fused=True)
