"""The exact face solve of least squares with a piecewise-affine psi: the polish of "cd".

At a split of the coordinates into fixed ones (on a breakpoint of psi or a bound, held there) and free
ones, each free coordinate confined to its piece [lo_j, hi_j] of psi restricted to the box, where psi
has the slope s_j, the problem on that face is the bound-constrained convex quadratic program

    minimize_{x_F}  1/2 ||A_F x_F - c||^2 + sum_{j in F} lam_j s_j x_j   s.t.  lo_F <= x_F <= hi_F,

c = b - A_K x_K.  It is solved by the primal active-set method for convex QP, here with bound
constraints only (Nocedal and Wright 2006, "Numerical Optimization", section 16.5, Algorithm 16.3): on
the working set W of free coordinates not yet stopped at a bound, the Newton step d_W = -(A_W^T A_W)^{-1} g_W (g = A_F^T (A_F x_F - c) + lam s,
the face's gradient) is taken as far as the bounds allow, and a coordinate that blocks it stops at its
bound and leaves W.  When A_W has more columns than rows the face's objective is linear along the null
space N of A_W: if g_W has a component g_N = P_N g_W there, -g_N is a direction of zero curvature along
which the objective falls at the rate ||g_N||^2, followed to its first bound (there is one when the
objective is bounded below on the face); otherwise the minimum-norm Newton step
d_W = -A_W^T (A_W A_W^T)^{-2} A_W g_W.  Every step lowers the objective and either stops a coordinate
at a bound or ends at the minimizer on W; there, a stopped coordinate that the gradient pushes back into
its interval (its bound's multiplier has the wrong sign) returns to W, and the face is solved when none
does (its KKT conditions).

The split is read off one prox-gradient step u = prox(x - t grad f(x)), as in
:func:`cvxpar.solvers.polish.newton_polish`: coordinates on a plateau of the prox are fixed at u,
the others are free on the piece that u lies in.  Rounds repeat (a new split read at the face's
minimizer) until the certificate holds or a round brings no progress.  Where the clipped Newton step
of :func:`~cvxpar.solvers.polish.newton_polish` on a nearly singular free block (n free coordinates
for n samples, the Lasso's hardest case) lands far away and is cut back to its pieces, the face solve
stops at the first bound along the step, and it sheds the excess coordinates of a free block with more
coordinates than samples exactly, along the null space, where coordinate descent crawls.

On scipy.sparse data A_F stays sparse: A_F^T A_F comes from a sparse product (sum over rows of
nnz(row)^2 multiply-adds, against n k^2 for the dense one) and each Newton step factors A_W^T A_W by
SuperLU with a minimum-degree ordering and diagonal pivots (Li 2005, "An overview of SuperLU", ACM TOMS
31(3)), which follows its block-diagonal structure (free columns that share no row) and its sparsity; a
Cholesky factorization of the dense block takes over for the rest of the solve once the factors fill in
beyond SPARSE_FILL k^2 nonzeros; a free block whose structural rank (a maximum bipartite matching)
is below its width is singular without a factorization, and one with a pivot at most k eps max(diag) is
numerically singular (the rank test of LAPACK's pivoted Cholesky, dpstrf).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg import lapack
from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching, structural_rank
from scipy.sparse.linalg import splu

from cvxpar.solvers.polish import _better

#: A component of the face's gradient in the null space of A_W below this fraction of the gradient
#: is rounding: the face's objective is then bounded on W and the minimum-norm Newton step is taken.
NULL_RTOL = 1e-10

#: A stopped coordinate is released when the face's gradient pushes it into its interval by more than this
#: fraction of the gradient's scale; the active-set loop runs at most MAX_STEPS (k + 1) steps.
RELEASE_RTOL = 1e-12
MAX_STEPS = 4
#: A sparse free block with at most DENSE_ENTRIES entries (n k) is solved dense (scipy.sparse's per-call costs
#: exceed the dense work there).
DENSE_ENTRIES = 1 << 16
#: On sparse data: the sparse factorization of A_W^T A_W is used while its factors have at most SPARSE_FILL k^2
#: nonzeros (k = |W|); denser factors cost about what a dense Cholesky factorization does, which then takes over.
SPARSE_FILL = 0.125
#: ... and is not tried when A_W^T A_W has more than SPARSE_DEGREE nonzeros per column (the fill of a minimum-degree
#: ordering grows fast with the couplings: at 1000 x 874 with 6.4 per column SuperLU took a third of the dense
#: Cholesky's time, at 2000 x 1461 with 18 per column 1.7x it).
SPARSE_DEGREE = 10.0
#: A step on W within the factored W0 comes from the kept factor while |W0 - W| <= |W0| / KEPT_FRACTION, and is
#: kept when its residual is at most KEPT_RTOL ||g|| (:class:`_Gram`).
KEPT_FRACTION = 4
KEPT_RTOL = 1e-10


def face_polish(prob, x, t: float, rounds: int = 8, tol: float = 1e-8, check=None):
    """Up to ``rounds`` exact face solves from x (least squares, NumPy data), kept monotone.

    ``prob`` is a least-squares :class:`~cvxpar.solvers._problem.Problem` (dense or scipy.sparse A),
    ``t`` the step of the prox-gradient step that reads each round's split, ``check(x) -> Certificate``.
    Returns (x_best, cert_best, rounds_taken) with the contract of
    :func:`cvxpar.solvers.polish.newton_polish`: x itself (the same object) when no round improved on it,
    and x's certificate is computed only when the first round's point does not certify."""
    loss = prob.loss
    A, b = loss.op.A, np.asarray(loss.target, dtype=np.float64)
    best_x, best_cert, cur = x, None, x
    for k in range(rounds):
        cand = _round(prob, A, b, cur, t)
        cert = check(cand)
        if cert.certifies(tol):
            return cand, cert, k + 1
        if best_cert is None:  # the first round did not certify: now x's certificate is needed
            best_cert = check(x)
            if best_cert.certifies(tol):
                return x, best_cert, 0
        if not _better(cert, best_cert, tol):
            break
        best_x, best_cert, cur = cand, cert, cand
    if best_cert is None:  # no round was run
        best_cert = check(x)
        return x, best_cert, 0 if best_cert.certifies(tol) else rounds
    return best_x, best_cert, rounds


def _round(prob, A, b, x, t: float):
    """The split at x read from u = prox(x - t grad f(x)), then the face's minimizer from there."""
    g = np.asarray(A.T @ (A @ x - b)).reshape(-1)
    u = np.asarray(prob.prox(x - t * g, t), dtype=np.float64)
    fixed = np.asarray(prob.fixed(u))
    free = np.flatnonzero(~fixed)
    z = np.where(fixed, u, x)
    if free.size == 0:
        return z
    s, lo, hi = (np.asarray(v, dtype=np.float64) for v in prob.piece(u))
    lam = prob.lam if isinstance(prob.lam, float) else np.asarray(prob.lam, dtype=np.float64)[free]
    lo_f, hi_f = lo[free], hi[free]
    z[free] = np.clip(z[free], lo_f, hi_f)
    A_f = A[:, free]
    if sp.issparse(A_f) and A_f.shape[0] * A_f.shape[1] > DENSE_ENTRIES:
        A_f = sp.csc_array(A_f)
    else:
        A_f = np.asarray(A_f.toarray() if sp.issparse(A_f) else A_f, dtype=np.float64)
    r = b - np.asarray(A @ z).reshape(-1)
    z[free] = solve_face(A_f, r, z[free], lo_f, hi_f, lam * s[free])
    return z


def solve_face(A, r, x, lo, hi, lin):
    """The minimizer of 1/2 ||r - A (y - x)||^2 + lin^T y over lo <= y <= hi, from the feasible x with
    residual r (the primal active-set method of the module docstring; A n x k, dense or scipy.sparse).
    Returns y."""
    x = np.array(x, dtype=np.float64)
    r = np.array(r, dtype=np.float64)
    n, k = A.shape
    gram = _SparseGram(A) if sp.issparse(A) else _DenseGram(A)
    work = np.ones(k, dtype=bool)
    for _ in range(MAX_STEPS * (k + 1)):
        idx = np.flatnonzero(work)
        d = None
        if idx.size:
            A_w = A[:, idx]
            g = lin[idx] - A_w.T @ r
            if idx.size <= n:
                d, ray = gram.newton(idx, g), False
            if d is None:
                d, ray = gram.null_space_step(A_w, idx, g)
            if d is not None and not float(g @ d) < 0.0:  # no descent left on W (its minimizer, to rounding)
                d = None
        if d is None:  # the minimizer on W: release the stopped coordinates whose multiplier has the wrong sign
            if not _release(A, r, x, lo, hi, lin, work):
                break
            continue
        x_w, lo_w, hi_w = x[idx], lo[idx], hi[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            reach = np.where(d < 0.0, (lo_w - x_w) / d, np.where(d > 0.0, (hi_w - x_w) / d, np.inf))
        alpha = float(reach.min(initial=np.inf))
        if not ray:
            alpha = min(alpha, 1.0)
        if not np.isfinite(alpha):  # a ray of descent without a bound: the face is unbounded below
            break
        new = x_w + alpha * d
        stop = reach <= alpha
        new[stop] = np.where(d[stop] < 0.0, lo_w[stop], hi_w[stop])
        r -= A_w @ (new - x_w)
        x[idx] = new
        work[idx[stop]] = False
        if not stop.any() and not _release(A, r, x, lo, hi, lin, work):  # the full step: W's minimizer
            break
    return x


class _Gram:
    """Newton steps -(A_W^T A_W)^{-1} g on the working sets W of one face solve.

    W only shrinks from the factored base set W0 (a coordinate stops at a bound) until a release returns
    coordinates of W0 to it, so the factorization of G0 = A_W0^T A_W0 is kept, and the step on W ⊂ W0 is the
    step on W0 with the coordinates S = W0 - W held at zero by Lagrange multipliers (the range-space method,
    Nocedal and Wright 2006, sec. 16.2; Gill, Golub, Murray and Saunders 1974):

        d0 = G0^{-1} (h - E mu),   (E^T G0^{-1} E) mu = E^T G0^{-1} h,   h = (g_W, 0),  E = I[:, S],

    |S| + 1 solves with the kept factor and an |S| x |S| system, against a new factorization.  Used while
    |S| <= |W0| / KEPT_FRACTION, and kept when ||G_WW d + g|| <= KEPT_RTOL ||g||; else W is factored anew."""

    def __init__(self) -> None:
        self.base = None  # (W0, G0^{-1} as a function, positions of W0's coordinates, {j: G0^{-1} e_j})

    def newton(self, idx, g):
        d = self._kept_step(idx, g)
        if d is not None:
            return d
        inverse = self._factor(idx)
        if inverse is None:
            self.base = None
            return None
        pos = np.full(int(idx.max()) + 1, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        self.base = (idx, inverse, pos, {})
        d = -inverse(np.asarray(g, dtype=np.float64))
        return d if np.isfinite(d).all() else None

    def _kept_step(self, idx, g):
        if self.base is None:
            return None
        W0, inverse, pos, cols = self.base
        if idx[-1] >= pos.size or np.any(pos[idx] < 0):  # W is not within W0
            return None
        S = np.setdiff1d(W0, idx, assume_unique=True)
        if S.size == 0:  # W = W0 again (after a release)
            d = -inverse(np.asarray(g, dtype=np.float64))
            return d if np.isfinite(d).all() else None
        if KEPT_FRACTION * S.size > W0.size:
            return None
        for j in S:
            if j not in cols:
                e = np.zeros(W0.size)
                e[pos[j]] = 1.0
                cols[j] = inverse(e)
        Z = np.stack([cols[j] for j in S], axis=1)
        h = np.zeros(W0.size)
        h[pos[idx]] = g
        y = inverse(h)
        try:
            mu = np.linalg.solve(Z[pos[S], :], y[pos[S]])
        except np.linalg.LinAlgError:
            return None
        d = -(y - Z @ mu)[pos[idx]]
        if not (np.isfinite(d).all()
                and np.linalg.norm(self._product(idx, d) + g) <= KEPT_RTOL * np.linalg.norm(g)):
            return None
        return d


class _DenseGram(_Gram):
    """The steps for a dense A, from A^T A formed once (on first use) and Cholesky factorizations."""

    def __init__(self, A) -> None:
        super().__init__()
        self.A = A
        self.gram = None

    def _factor(self, idx):
        if self.gram is None:
            self.gram = self.A.T @ self.A
        try:
            c = sla.cho_factor(self.gram[np.ix_(idx, idx)], check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return None
        return lambda v: sla.cho_solve(c, v, check_finite=False)

    def _product(self, idx, d):
        return self.gram[np.ix_(idx, idx)] @ d

    def null_space_step(self, A_w, idx, g):
        return _null_space_step(A_w, g)


class _SparseGram(_Gram):
    """The steps for a scipy.sparse A: A^T A by a sparse product, A_W^T A_W factored by SuperLU
    (minimum-degree ordering, diagonal pivots) until its factors fill in beyond SPARSE_FILL k^2 nonzeros, then
    by a dense Cholesky factorization (module docstring)."""

    def __init__(self, A) -> None:
        super().__init__()
        self.A = A
        self.gram = sp.csc_array(A.T @ A)
        self.dense = False
        self._memo: dict = {}

    def _cached(self, key, make):
        """``make()`` once per key: the null-space steps of consecutive active-set steps share all components
        but the one whose coordinate stopped at a bound."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def _factor(self, idx):
        if structural_rank(sp.csr_array(self.A[:, idx])) < idx.size:  # A_W^T A_W is singular
            return None
        G = self.gram[:, idx][idx, :]
        # pivots at most k eps max(diag G) mean a numerically singular G, as in LAPACK's dpstrf
        floor = idx.size * np.finfo(np.float64).eps * float(G.diagonal().max(initial=0.0))
        if G.nnz > SPARSE_DEGREE * idx.size:  # too many couplings for a sparse factorization to pay
            self.dense = True
        if self.dense:
            try:
                c = sla.cho_factor(G.toarray(), check_finite=False)
            except (np.linalg.LinAlgError, ValueError):
                return None
            if not np.all(np.diagonal(c[0]) ** 2 > floor):
                return None
            return lambda v: sla.cho_solve(c, v, check_finite=False)
        try:
            lu = splu(sp.csc_array(G), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                      options={"SymmetricMode": True})
        except RuntimeError:  # exactly singular
            return None
        if lu.L.nnz + lu.U.nnz > SPARSE_FILL * idx.size**2:
            self.dense = True
        if not np.all(lu.U.diagonal() > floor):  # not positive definite to rounding
            return None
        return lu.solve

    def _product(self, idx, d):
        A_w = self.A[:, idx]
        return A_w.T @ (A_w @ d)

    def null_space_step(self, A_w, idx, g):
        """:func:`_null_space_step` by blocks: the null space of A_W is the direct sum of those of its connected
        components (columns linked by shared rows).  The components whose columns a maximum bipartite matching
        matches to distinct rows (full structural rank) are factored together as for a Newton step; when that
        factorization holds their null space is trivial, and g_N comes from the other components only, each
        by a null-space basis from the pivoted Cholesky factorization of its A_c^T A_c (:func:`_null_basis`);
        when it fails (numerically singular), every component goes by its basis.  The minimum-norm Newton step
        is the Newton step on the factored components and -(A_c^T A_c)^+ g_c on the others."""
        n, k = A_w.shape
        A_w = sp.csc_array(A_w)
        matched = maximum_bipartite_matching(sp.csr_array(A_w), perm_type="row")
        graph = sp.block_array([[None, A_w], [A_w.T, None]], format="csr")
        _, label = connected_components(graph, directed=False)
        cols_label = label[n:]
        deficient = np.isin(cols_label, cols_label[matched < 0])
        full = np.flatnonzero(~deficient)
        inverse = self._cached(("full", idx[full].tobytes()), lambda: self._factor(idx[full])) if full.size else None
        if full.size and inverse is None:  # full structural rank, numerically singular: all by blocks
            deficient[:], full = True, full[:0]
        g_null = np.zeros(k)
        blocks = []
        for c in np.unique(cols_label[deficient]):
            cols = np.flatnonzero(cols_label == c)
            null, basic = self._cached(("basis", idx[cols].tobytes()),
                                       lambda: _null_basis(self.gram[:, idx[cols]][idx[cols], :].toarray()))  # noqa: B023
            if null is None:
                return None, False
            g_null[cols] = _project(null, g[cols])
            blocks.append((cols, null, basic))
        if np.linalg.norm(g_null) > NULL_RTOL * np.linalg.norm(g):
            return -g_null, True
        d = np.zeros(k)
        if full.size:
            d[full] = -inverse(np.asarray(g[full], dtype=np.float64))
        for cols, null, basic in blocks:  # -H^+ g_c: the basic solution less its null-space component
            step = -basic(g[cols])
            d[cols] = step - _project(null, step)
        return (d, False) if np.isfinite(d).all() else (None, False)


def _release(A, r, x, lo, hi, lin, work) -> bool:
    """Return the stopped coordinates that the gradient pushes back into their interval to ``work``
    (their bound multipliers have the wrong sign); False when there are none (the face's KKT conditions)."""
    out = np.flatnonzero(~work & (lo < hi))
    if out.size == 0:
        return False
    g = lin[out] - A[:, out].T @ r
    scale = RELEASE_RTOL * max(float(np.max(np.abs(lin), initial=0.0)), float(np.max(np.abs(A.T @ r), initial=0.0)))
    back = ((x[out] <= lo[out]) & (g < -scale)) | ((x[out] >= hi[out]) & (g > scale))
    work[out[back]] = True
    return bool(back.any())


def _null_basis(H):
    """(Z, basic) for a symmetric positive semidefinite H: Z a basis of its null space (k x (k - r)) and
    ``basic(v)`` the basic solution of H d = v, from the pivoted Cholesky factorization P^T H P = R^T R (LAPACK
    dpstrf, which stops at the numerical rank r: Higham 1990, "Analysis of the Cholesky decomposition of a
    semi-definite matrix"): with the pivoted coordinates B = P[:r] and the others N, R11 d_B + R12 d_N = 0 gives
    Z[B] = -R11^{-1} R12, Z[N] = I, and the basic solution solves R11^T R11 d_B = v_B with d_N = 0 (exact when
    H d = v is consistent).  (None, None) when H has a non-finite entry or the factorization fails."""
    if not np.isfinite(H).all():
        return None, None
    R, piv, rank, info = lapack.dpstrf(H, lower=0)
    if info < 0:
        return None, None
    k = H.shape[0]
    B, N = piv[:rank] - 1, piv[rank:] - 1  # LAPACK's 1-based pivots
    R11 = np.triu(R[:rank, :rank])
    Z = np.zeros((k, k - rank))
    Z[N, np.arange(k - rank)] = 1.0
    if rank:
        Z[B] = -sla.solve_triangular(R11, R[:rank, rank:], check_finite=False)

    def basic(v):
        out = np.zeros(k)
        if rank:
            out[B] = sla.cho_solve((R11, False), v[B], check_finite=False)
        return out

    return Z, basic


def _project(Z, v):
    """The orthogonal projection of v onto the range of Z (full column rank): Z (Z^T Z)^{-1} Z^T v."""
    if Z.shape[1] == 0:
        return np.zeros_like(v)
    return Z @ np.linalg.solve(Z.T @ Z, Z.T @ v)


def _null_space_step(A, g):
    """(d, ray): -g_N, the component of g in the null space of A, as a ray when it is not rounding;
    else the minimum-norm Newton step -A^T (A A^T)^+ (A A^T)^+ A g (A n x k with k > n)."""
    y, *_ = np.linalg.lstsq(A.T, g, rcond=None)  # g = A^T y + g_N
    g_null = g - A.T @ y
    if np.linalg.norm(g_null) > NULL_RTOL * np.linalg.norm(g):
        return -g_null, True
    w, *_ = np.linalg.lstsq(A @ A.T, y, rcond=None)
    d = -(A.T @ w)
    return (d, False) if np.isfinite(d).all() else (None, False)
