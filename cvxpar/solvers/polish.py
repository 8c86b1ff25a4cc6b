"""Active-set polish: semismooth Newton steps on the prox-gradient fixed point.

At a solution the coordinates split into *fixed* ones (on a breakpoint of psi, or on a bound)
and *free* ones (inside a piece, where psi has a known slope s_i).  Given that split the problem
is smooth on the free block:

    minimize_{x_F}  f(x_F, x_K = q_K) + sum_{i in F} lam_i s_i x_i ,

for least squares one linear solve with the free columns:  (A_F^T A_F) d_F = -(grad_F + lam_F s_F).
The split is read off one prox-gradient step u = prox_{t lam psi}(x - t grad f(x)): coordinates
that land on a plateau of the prox are fixed at that breakpoint, the others are free on the
piece that u lies in.  This is exactly a semismooth Newton step on x = prox(x - t grad f(x))
(the prox is piecewise affine with derivative 0 on plateaus and 1 on pieces; Ma & Xiao 2025
section 1.4 for the optimality conditions), so once the split is right one step is exact for
least squares, and a few are for logistic/Huber.  A step is kept only if it lowers the
objective, and the point is accepted only if the certificate holds (the caller checks).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from cvxpar import _backend
from cvxpar.solvers._kkt import factored_kkt_step, kkt_step, schur_step

#: The free block is solved only while it is at most this many coordinates (a dense k x k solve),
#: and, for f(x) = h(Ax) with more features than samples, at most n_samples (a generic solution
#: has at most n free coordinates, Ma & Xiao 2025 Thm 1; a larger free set is a wrong split).
MAX_FREE = 4000

#: The free block of a scipy.sparse A stays sparse (``_sparse_factor``) while A has at most this fraction of nonzero
#: entries: cd on sparse logistic at 0.1-0.3 % density 2.5-4x faster than with the dense block, at 1-5 % the dense
#: block's BLAS products 5-10 % faster (benchmarks/RESULTS.md, "sparse data (session 11)").
SPARSE_FACTOR_DENSITY = 0.005

#: The exact step on a sparse free block solves its structurally nonsingular connected components of at most this
#: many columns in batches, one per size, and factors the others one by one (``_sparse_normal_step``).
SMALL_COMPONENT = 64
#: An inequality row joins the polish's working set when x is within this distance of its hyperplane,
#: relative to max(1, ||x||_inf) (ADMM's iterates satisfy the rows only to about its tolerance).
ROW_WORKING_RTOL = 1e-6

#: The row polish forms the free block's Hessian B^T B (n x k factor B) while k <= DENSE_RATIO n (_Block).
DENSE_RATIO = 2

#: Rounds of the row-constrained active-set loop (fix the coordinates leaving their piece, re-solve).
ROW_REFIX_ROUNDS = 50

#: Objective values closer than this (relative) are equal to within rounding: sums of d terms of
#: size ~|objective| carry errors of a few hundred ulps.  Near a solution the objective decrease
#: of a correct step (a coordinate moved to its kink along a direction where the loss is flat)
#: is below it, and the polish then compares stationarity residuals instead.
OBJECTIVE_NOISE = 1e-13


class PolishSchedule:
    """When an iterative method tries the polish: the one rule every method shares.

    The polish is exact once the split into fixed and free coordinates is right, so it is tried when
    the set of fixed coordinates has settled (at most SETTLED_FRACTION of d and at most
    SETTLED_FREE_FRACTION of the free coordinates, and at least one, changed between two consecutive
    checks: a working-set method that frees 10 more of 10^4 coordinates per step while 20 are free has
    not settled), and after a polish that brought no progress the wait before the next one doubles (a
    polish on a wrong split is a wasted linear solve).

    A method whose iterates never settle (ADMM on a nonconvex psi can cycle between splits forever) still
    tries it: once FORCED_CHECKS checks have passed without a polish, and again after twice as many each time
    a forced one fails, so a cycling run ends in a polish after O(log) of them instead of at max_iter.

    ``exact_only=True`` (a method whose own steps already do what the regularized polish steps would)
    also waits until the free block is one the exact step can solve: for f(x) = h(Ax) with more features
    than samples, at most n free coordinates, as a generic solution has (Ma & Xiao 2025, Thm 1); a larger
    free set is a split that is still wrong.
    """

    #: The fraction of coordinates allowed to change their fixed/free status between checks.
    SETTLED_FRACTION = 1e-3
    #: ... and of the free coordinates.
    SETTLED_FREE_FRACTION = 0.05
    #: Checks without a polish after which one is tried although the split has not settled (doubled after
    #: each forced polish that fails).
    FORCED_CHECKS = 20

    def __init__(self, prob, period: int, exact_only: bool = False) -> None:
        self.prob = prob
        self.period = max(1, int(period))
        self.wait = self.period
        self.next = 0
        self.last_fixed = None
        self.forced_wait = self.FORCED_CHECKS * self.period
        self.forced_next = self.forced_wait
        self.forced = False
        n_samples = getattr(prob.loss, "n_samples", None)
        self.max_free = n_samples if exact_only and n_samples is not None and prob.d > n_samples else None

    def due(self, it: int, x, settle: bool = True) -> bool:
        """True when the fixed set at x has settled since the previous call and the back-off has passed.

        ``settle=False`` (for a piecewise-quadratic f(x) = sum h(Ax)) skips the
        wait for the fixed set to settle: each polish step re-identifies both splits (of the coordinates
        and of the samples' pieces of h) and is exact on them, so the polish finishes as soon as they are
        nearly right, while the fixed set of the method's own iterates can keep changing by a few
        coordinates per step long after that; a polish that brings no progress still backs off.
        """
        xp = self.prob.xp
        fixed = self.prob.fixed(x)
        changed = None if self.last_fixed is None else int(xp.sum(xp.astype(fixed != self.last_fixed, xp.int32)))
        self.last_fixed = fixed
        n_free = self.prob.d - int(xp.sum(xp.astype(fixed, xp.int32)))
        if not settle:
            return (self.max_free is None or n_free <= self.max_free) and it >= self.next
        allowed = min(int(self.SETTLED_FRACTION * self.prob.d), int(self.SETTLED_FREE_FRACTION * n_free))
        self.forced = False
        if changed is None or changed > max(1, allowed):
            if it >= self.forced_next and self.max_free is None:
                self.forced = True
                return True
            return False
        if self.max_free is not None and n_free > self.max_free:
            return False
        return it >= self.next

    def record(self, it: int, improved: bool) -> None:
        """After a polish: back off (double the wait) when it did not improve, else reset the wait."""
        self.wait = self.period if improved else 2 * self.wait
        self.next = it + self.wait
        if self.forced and not improved:
            self.forced_wait *= 2
        self.forced_next = it + self.forced_wait


def newton_polish(prob, x, t: float, steps: int = 8, tol: float = 1e-8, check=None, factor=None, x_cert=None):
    """Up to ``steps`` active-set Newton steps from x, kept monotone in the objective.

    Each step identifies the split from u = prox(x - t grad f(x)), fixes the plateau coordinates
    at their breakpoints and solves (H_FF + mu I) d_F = -(grad_F + lam_F s_F) on the free ones,
    clipped to their pieces.  mu = 0 (the exact step) is tried first while the free block is
    small enough to be nonsingular; otherwise, or if the exact step does not lower the objective,
    a Levenberg-Marquardt regularized step (mu proportional to the prox-gradient residual,
    raised x10 until the objective drops; Xiao, Li, Wen and Zhang 2018) keeps the iteration
    moving when the split is still wrong.

    Returns (x_best, cert_best, steps_taken): the point with the lowest objective seen and its
    certificate (``check(x) -> Certificate``); stops early once a point is certified to ``tol``.
    The start x is certified only when the first step's point is not (the callers hand in points that
    are not certified yet, and a first step that certifies needs no comparison with x); a certified x
    is then returned as it is.

    ``factor(x, idx)``, when given, replaces ``loss.hessian_factor`` (the same B with B^T B the Hessian
    block; a method that keeps a contiguous copy of A^T gathers A_F from its rows).  ``x_cert``, when given, is
    ``check(x)`` as the caller already holds it (then not computed again).
    """
    xp = prob.xp
    loss = prob.loss
    rows = prob.feasible.has_rows
    if factor is None:
        factor = _sparse_factor(loss) if not rows and _on_sparse(loss) else loss.hessian_factor
    n_samples = getattr(loss, "n_samples", None)
    max_free = MAX_FREE if n_samples is None or prob.d <= n_samples else min(MAX_FREE, n_samples)
    L = 1.0 / t
    best_x = cur = x
    best_cert = cur_cert = None
    normal = _normal_factor() if _backend.is_numpy_namespace(xp) else None  # the exact steps' kept factor
    for k in range(steps):
        g = g_cur = loss.grad(cur)
        if rows:  # the split of the Lagrangian: the rows' multipliers shift the gradient
            g = g + _row_force(prob, cur, g)
        u = prob.prox(cur - t * g, t)
        fixed = prob.fixed(u)
        free_idx = _nonzero(xp, ~fixed)
        n_free = int(free_idx.shape[0])
        if n_free > MAX_FREE and getattr(loss, "op", None) is None:  # dense d x d Hessian blocks only
            break
        base = xp.where(fixed, u, cur)
        if n_free == 0:
            trials = [base]
        else:
            s, lo, hi = prob.piece(u)
            gb = g_cur if bool(xp.all(base == cur)) else loss.grad(base)  # the fixed coordinates already in place
            lam = prob.lam if isinstance(prob.lam, float) else xp.take(prob.lam, free_idx)
            rhs = -(xp.take(gb, free_idx) + lam * xp.take(s, free_idx))
            B = factor(base, free_idx)
            H = loss.hessian_block(base, free_idx) if B is None else None
            if B is None and H is None:
                break
            residual = float(xp.max(xp.abs(cur - u))) * L
            mus = ([0.0] if n_free <= max_free else []) + [
                L * min(1.0, 1e-2 * residual / max(1.0, residual)) * 10.0**j for j in range(4)
            ]
            lo_f, hi_f, base_f = xp.take(lo, free_idx), xp.take(hi, free_idx), xp.take(base, free_idx)
            if rows:
                trials = _row_steps(prob, B, H, rhs, mus, base, base_f, lo_f, hi_f, free_idx, cur)
            else:
                trials = _steps(xp, B, H, rhs, mus, base, base_f, lo_f, hi_f, free_idx, normal)
        moved = False
        for cand in trials:
            cert = check(cand)
            if cert.certifies(tol):
                return cand, cert, k + 1
            if cur_cert is None:  # the first step did not certify: now x's certificate is needed
                best_cert = cur_cert = check(x) if x_cert is None else x_cert
                if cur_cert.certifies(tol):
                    return x, cur_cert, 0
            if _better(cert, cur_cert, tol):
                cur, cur_cert, moved = cand, cert, True
                break
        if not moved:
            break
        if _better(cur_cert, best_cert, tol):
            best_x, best_cert = cur, cur_cert
    if best_cert is None:  # no step was tried
        best_cert = check(x) if x_cert is None else x_cert
        return x, best_cert, 0 if best_cert.certifies(tol) else steps
    return best_x, best_cert, steps


def _better(new, old, tol: float = float("inf")) -> bool:
    """new is feasible to tol where old is not (or less infeasible, when neither is), else a lower
    objective, or (near the solution, where objective differences fall below its rounding) an
    objective equal to within OBJECTIVE_NOISE relative and a smaller residual."""
    new_ok = new.infeasibility <= tol * new.x_scale
    old_ok = old.infeasibility <= tol * old.x_scale
    if new_ok != old_ok:
        return new_ok
    if not new_ok:
        return new.infeasibility < old.infeasibility
    if new.objective < old.objective:
        return True
    noise = OBJECTIVE_NOISE * max(1.0, abs(old.objective))
    return new.objective <= old.objective + noise and new.residual < old.residual


def _on_sparse(loss) -> bool:
    """Whether the loss is f(x) = sum h(Ax) on a scipy.sparse A with at most SPARSE_FACTOR_DENSITY of its entries
    nonzero (the polish then keeps the free block sparse)."""
    op = getattr(loss, "op", None)
    if op is None or op.kind != "sparse" or not hasattr(loss, "d2h"):
        return False
    n, d = op.shape
    return op.A.nnz <= SPARSE_FACTOR_DENSITY * n * d


def _sparse_factor(loss):
    """The Hessian factor B = diag(sqrt h''(Ax)) A_F of ``loss.hessian_factor`` kept scipy.sparse (CSC) for a
    scipy.sparse A: the polish's products B^T B, B B^T and B v then cost what B's nonzeros cost, not n k."""

    def factor(x, idx):
        w = np.sqrt(np.asarray(loss.d2h(loss.linear(x)), dtype=np.float64))
        return sp.csc_array(sp.diags_array(w) @ loss.op.A[:, np.asarray(idx)])

    return factor


def _dense(M):
    """M as a dense NumPy array (a product of scipy.sparse factors is sparse)."""
    return M.toarray() if sp.issparse(M) else M


def _normal_factor():
    """A fresh :class:`~cvxpar.solvers._gram.NormalFactor`: the single-precision factor of one exact step's normal
    equations, reused by the next exact step of the same polish on nearby columns."""
    from cvxpar.solvers._gram import NormalFactor

    return NormalFactor()


def _steps(xp, B, H, rhs, mus, base, base_f, lo_f, hi_f, free_idx, normal=None):
    """Lazily the candidate point for each regularization mu (each solved only when asked for).

    The block is H, or B^T B from its factor B (n x k, dense or scipy.sparse); with more free coordinates
    than rows and mu > 0 the solve goes through Woodbury: (B^T B + mu I)^-1 r = (r - B^T (mu I + B B^T)^-1 B r) / mu,
    for a scipy.sparse B with :class:`~cvxpar.solvers._sparse_gram.SparseGram` (sparse products, conjugate
    gradients or a sparse factorization where B B^T has few nonzeros, else a dense one).  ``normal``, when given,
    keeps the exact step's factor for the next step's (:func:`_normal_step`).
    """
    gram = outer = None
    for mu in mus:
        if B is not None and mu > 0 and B.shape[1] > B.shape[0]:
            if sp.issparse(B):  # (mu I + B B^T) by SparseGram: sparse products, CG or a sparse factorization
                if outer is None:
                    from cvxpar.solvers._sparse_gram import SparseGram

                    outer = SparseGram(B)
                small = outer.solve(np.ones(B.shape[1], dtype=bool), 1.0, mu, np.asarray(B @ rhs, dtype=np.float64))
            else:
                if outer is None:
                    outer = B @ B.T
                small = _solve(xp, outer + mu * _eye(xp, outer), B @ rhs)
            step = None if small is None else (rhs - B.T @ small) / mu
        elif mu == 0 and B is not None and _backend.is_numpy_namespace(xp):
            step = _normal_step(B, rhs, normal, free_idx)
        else:
            if gram is None:
                gram = H if B is None else _dense(B.T @ B)
            if mu == 0 and _backend.is_numpy_namespace(xp):
                step = _basic_step(np.asarray(gram), np.asarray(rhs))
            else:
                step = _solve(xp, gram if mu == 0 else gram + mu * _eye(xp, gram), rhs)
        if step is None:
            continue
        yield _scatter(xp, base, free_idx, xp.clip(base_f + step, lo_f, hi_f))


def _normal_step(B: np.ndarray, rhs: np.ndarray, normal=None, idx=None) -> np.ndarray | None:
    """(B^T B)^-1 rhs for a NumPy or scipy.sparse B (the exact polish step, mu = 0; a sparse B by
    :func:`_sparse_normal_step`): with k >= NORMAL_SINGLE_MIN unknowns in
    single precision refined to double's backward error (``_gram.single_normal_solve``; given ``normal``, a
    ``_gram.NormalFactor``, and B's column indices ``idx``, by bordering the factor of the previous step's
    columns where that applies, and the factor kept for the next), else (or when that
    does not converge) B^T B (BLAS syrk) into a populated buffer and factored there in place (LAPACK potrf),
    so that neither the k x k product nor its factor takes fresh pages (``_gram.populated``); where B^T B is
    not numerically positive definite, the basic solution of :func:`_basic_step` (pivoted Cholesky, no SVD)
    on a fresh product."""
    from cvxpar.solvers._gram import NORMAL_SINGLE_MIN, cholesky_solve, populated, single_normal_solve

    k = B.shape[1]
    if sp.issparse(B):
        return _sparse_normal_step(B, rhs)
    if k >= NORMAL_SINGLE_MIN:
        step = single_normal_solve(B, rhs) if normal is None or idx is None else normal.solve(B, idx, rhs)
        if step is not None:
            return step
    gram = np.matmul(B.T, B, out=populated((k, k)))
    step = cholesky_solve(gram.T, rhs, overwrite=True)  # symmetric: its transpose, factored in place
    return step if step is not None else _basic_step(B.T @ B, rhs)


def _sparse_normal_step(B, rhs: np.ndarray) -> np.ndarray | None:
    """The exact step (B^T B)^-1 rhs for a scipy.sparse B, or its basic solution where B^T B is singular, block by
    block: two free columns that share no row are uncoupled in H = B^T B, so after a permutation H is block
    diagonal over the connected components of its graph (columns linked by shared rows; Pothen and Fan 1990), and
    H d = rhs splits into one system per component.  A component of one column is a division (its column's
    squared norm h; d = 0 where h is at most k eps max(diag H), the pivot test of LAPACK's dpstrf on the whole
    block), the others are factored dense: by Cholesky, or by the pivoted Cholesky factorization of
    :func:`_basic_step` (the basic solution) where that fails or where the component's structural rank is below
    its size: then its block is singular for sure and the Cholesky factorization, which would fail after nearly
    all its work, is not tried (a maximum matching of B's bipartite row-column graph leaves a column of the
    component unmatched: Duff 1981; Hopcroft and Karp 1973).  The structurally nonsingular components of at most
    SMALL_COMPONENT columns go in one batch per size (NumPy's stacked Cholesky test and solve, no Python loop over
    them); a batch with a block that is not positive definite goes block by block by the pivoted factorization.  On a sparse free block of a few hundred columns the components have 1 - 50 columns, so the steps
    cost what the blocks' nonzeros do instead of a k x k factorization."""
    from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching

    from cvxpar.solvers._gram import cholesky_solve

    H = sp.csr_array(B.T @ B)
    k = H.shape[0]
    rhs = np.asarray(rhs, dtype=np.float64)
    if not (np.isfinite(H.data).all() and np.isfinite(rhs).all()):
        return None
    count, label = connected_components(H, directed=False)
    sizes = np.bincount(label, minlength=count)
    diag = H.diagonal()
    floor = k * np.finfo(np.float64).eps * float(diag.max(initial=0.0))
    step = np.zeros(k)
    single = sizes[label] == 1
    pivot = single & (diag > floor)
    step[pivot] = rhs[pivot] / diag[pivot]
    if single.all():
        return step
    order = np.argsort(label, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)))
    coo = H.tocoo()
    rows, cols = coo.coords
    pos = np.empty(k, dtype=np.int64)
    pos[order] = np.arange(k) - starts[label[order]]
    offset = np.concatenate(([0], np.cumsum(sizes.astype(np.int64) ** 2)))
    flat = np.zeros(int(offset[-1]))
    flat[offset[label[rows]] + pos[rows] * sizes[label[rows]] + pos[cols]] = coo.data
    unmatched = np.zeros(count, dtype=bool)
    unmatched[label[maximum_bipartite_matching(sp.csr_array(B), perm_type="row") < 0]] = True
    one_by_one = []
    for m in np.unique(sizes[(sizes > 1) & (sizes <= SMALL_COMPONENT)]):  # structurally nonsingular: a batch per size
        comps = np.flatnonzero((sizes == m) & ~unmatched)
        if comps.size == 0:
            continue
        idx = order[starts[comps][:, None] + np.arange(m)]
        blocks = flat[offset[comps][:, None] + np.arange(m * m)].reshape(-1, m, m)
        try:
            np.linalg.cholesky(blocks)  # every block positive definite (else each by the pivoted factorization)
            parts = np.linalg.solve(blocks, rhs[idx][..., None])[..., 0]
        except np.linalg.LinAlgError:
            parts = None
        if parts is None or not np.isfinite(parts).all():
            one_by_one.extend(comps)
        else:
            step[idx] = parts
    for c in np.concatenate([np.flatnonzero((sizes > 1) & ((sizes > SMALL_COMPONENT) | unmatched)),
                             np.asarray(one_by_one, dtype=np.int64)]):
        idx = order[starts[c]:starts[c + 1]]
        m = idx.size
        block = flat[offset[c]:offset[c + 1]].reshape(m, m)
        part = None if m <= SMALL_COMPONENT or unmatched[c] else cholesky_solve(np.array(block, order="F"), rhs[idx])
        if part is None:
            part = _basic_step(block, rhs[idx])
            if part is None:
                return None
        step[idx] = part
    return step


def _basic_step(H: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    """A solution of H d = rhs for a symmetric positive semidefinite H (the exact step's k x k block) from its
    pivoted Cholesky factorization P^T H P = R^T R (LAPACK dpstrf, which stops at the numerical rank r, pivots
    below k eps max(diag H): Higham 1990, "Analysis of the Cholesky decomposition of a semi-definite matrix";
    Golub and Van Loan 2013, sec. 4.2.8), one factorization's cost where a least-squares solve by the SVD costs
    about ten.

    With r = k it is the Newton step H^-1 rhs.  With r < k (a singular block: a free block wider than its rank,
    which for a generic problem means a wrong split, or columns that repeat) it is the basic solution: the r
    pivoted coordinates solve R11^T R11 d_B = rhs_B and the other k - r are held (d = 0 there).  It solves
    H d = rhs exactly when the system is consistent, and is otherwise the Newton step on the basis's
    coordinates.  None when H or rhs has a non-finite entry."""
    if not (np.isfinite(H).all() and np.isfinite(rhs).all()):
        return None
    R, piv, rank, info = lapack.dpstrf(H, lower=0)
    if info < 0:
        return None
    step = np.zeros_like(rhs, dtype=np.float64)
    if rank == 0:
        return step
    basis = piv[:rank] - 1  # LAPACK's 1-based pivots
    R11 = np.triu(R[:rank, :rank])
    y, info = lapack.dtrtrs(R11, rhs[basis], lower=0, trans=1)
    if info == 0:
        y, info = lapack.dtrtrs(R11, y, lower=0)
    if info != 0 or not np.isfinite(y).all():
        return None
    step[basis] = y
    return step


def _row_force(prob, x, g):
    """G_act^T y at x: the linear rows' share of the gradient, with the multipliers y that best explain
    -g by lam dpsi + N_C (the certificate's normal-cone multipliers)."""
    from cvxpar.certificate import project

    xp = prob.xp
    S = prob.feasible
    lower, upper = S.bounds_like(x)
    xc, _ = project(xp, x, prob.psi, lower, upper)  # measured where psi is finite, as the certificate does
    lo, hi = prob.psi.scaled_subdifferential(xc, prob.lam, lower, upper)
    Ga, y = S.multipliers(_backend.to_host(x), -_backend.to_host(g), _backend.to_host(lo), _backend.to_host(hi))
    if y is None or Ga.shape[0] == 0:
        return xp.zeros_like(g)
    return _backend.asarray_like(xp, Ga.T @ y, g)


def _row_steps(prob, B, H, rhs, mus, base, base_f, lo_f, hi_f, free_idx, cur):
    """Candidates for the free block under the linear rows in the working set (every equality, and the
    inequalities within ROW_WORKING_RTOL of their hyperplane at ``cur``): the equality-constrained Newton
    step from the KKT system

        [H_FF + mu I   G_F^T] [d_F]   [-(grad_F + lam_F s_F)]
        [G_F           0    ] [ y ] = [ h_W - G_W x_base     ],

    which moves the free coordinates within the pieces while the working rows hold exactly (Nocedal and
    Wright 2006, section 16.1; :mod:`cvxpar.solvers._kkt`: in dense form, or, with more free coordinates
    than the Hessian factor B has rows, in factored form on the row space of [B_F; G_F]).  A free
    coordinate that the step carries out of its piece is fixed at the piece's end (the kink it reaches) and
    the system is solved again without it (a primal active-set loop, at most ROW_REFIX_ROUNDS rounds), so
    the candidate lies on the rows exactly, not only before clipping.
    """
    xp = prob.xp
    G, h, n_eq = prob.feasible.stacked()
    base_np = _backend.to_host(base).astype(np.float64, copy=True)
    cur_np = _backend.to_host(cur)
    scale = max(1.0, float(np.max(np.abs(cur_np), initial=0.0)))
    slack = (h - G @ cur_np) / np.maximum(np.linalg.norm(G, axis=1), 1e-300)
    working = np.concatenate([np.ones(n_eq, bool), slack[n_eq:] <= ROW_WORKING_RTOL * scale])
    Gw, hw = G[working], h[working]
    free = _backend.to_host(free_idx).astype(np.int64)
    block = _Block(None if B is None else _backend.to_host(B), None if H is None else _backend.to_host(H))
    g_all = _backend.to_host(rhs)
    lo_all, hi_all = _backend.to_host(lo_f), _backend.to_host(hi_f)
    for mu in mus:
        keep = np.ones(free.size, bool)
        x_np = base_np.copy()
        x_np[free] = _backend.to_host(base_f)
        g_eff = g_all.copy()
        for _ in range(ROW_REFIX_ROUNDS):
            sel = np.flatnonzero(keep)
            r = hw - Gw @ x_np
            step = block.kkt_step(sel, mu, Gw[:, free[sel]], g_eff[sel], r)
            if step is None:
                break
            new = x_np[free[sel]] + step
            out = (new < lo_all[sel]) | (new > hi_all[sel])
            if not out.any():
                x_np[free[sel]] = new
                yield _backend.asarray_like(xp, x_np, base)
                break
            # fix the leavers at the end of their piece, move the rest, and account for the change in the
            # gradient of the quadratic model on the remaining free coordinates
            clipped = np.clip(new, lo_all[sel], hi_all[sel])
            delta = clipped[out] - x_np[free[sel[out]]]
            x_np[free[sel[out]]] = clipped[out]
            g_eff[sel] = g_eff[sel] - block.product(sel, sel[out], delta)
            keep[sel[out]] = False
            if not keep.any():
                yield _backend.asarray_like(xp, x_np, base)
                break


class _Block:
    """The free block's Hessian (without mu) for the row polish: a dense k x k H, or its factor B (n x k,
    H = B^T B).  With B, H is formed once while k <= DENSE_RATIO n: the dense Schur-complement step (one
    Cholesky factorization per round, O(k^3 / 3)) is then cheaper than the factored one (a QR factorization
    per round, O(2 k (n + m)^2)); past n, the factored step takes over where H + mu I is singular."""

    def __init__(self, B, H) -> None:
        self.B, self.H = B, H
        if B is not None and B.shape[1] <= DENSE_RATIO * B.shape[0]:
            self.H = B.T @ B

    def kkt_step(self, sel, mu: float, G, g, r):
        """The step of the KKT system on the coordinates ``sel`` of the block (:mod:`cvxpar.solvers._kkt`)."""
        wide = self.B is not None and sel.size > self.B.shape[0]
        if self.H is not None:
            H = self.H[np.ix_(sel, sel)] + mu * np.eye(sel.size)
            step = schur_step(H, G, g, r) if wide else kkt_step(H, G, g, r)
            if step is not None or not wide:
                return step
        return factored_kkt_step(self.B[:, sel], mu, G, g, r)

    def product(self, sel, cols, v):
        """H[sel, cols] @ v."""
        if self.H is not None:
            return self.H[np.ix_(sel, cols)] @ v
        return self.B[:, sel].T @ (self.B[:, cols] @ v)


def _eye(xp, M):
    return xp.eye(M.shape[0], dtype=M.dtype, device=_backend.device(M))


def _nonzero(xp, mask):
    return xp.nonzero(mask)[0]


def _scatter(xp, base, idx, values):
    """base with base[idx] = values, without in-place writes (Array-API arrays may be immutable)."""
    if _backend.is_numpy_namespace(xp):
        out = base.copy()
        out[idx] = values
        return out
    d = base.shape[0]
    full = xp.zeros_like(base)
    mask = xp.zeros((d,), dtype=xp.bool, device=_backend.device(base))
    try:
        full[idx] = values
        mask[idx] = True
    except (TypeError, ValueError, IndexError):  # namespaces without integer-array setitem
        onehot = xp.astype(xp.arange(d, device=_backend.device(base))[:, None] == idx[None, :], base.dtype)
        full = onehot @ values
        mask = xp.sum(onehot, axis=1) > 0
    return xp.where(mask, full, base)


def _solve(xp, H, rhs):
    """H step = rhs for a symmetric positive (semi)definite H; least squares if singular."""
    if _backend.is_numpy_namespace(xp):
        import scipy.linalg as sla

        H = np.asarray(H)
        rhs = np.asarray(rhs)
        try:
            c = sla.cho_factor(H, check_finite=False)
            step = sla.cho_solve(c, rhs, check_finite=False)
            if np.isfinite(step).all():
                return step
        except np.linalg.LinAlgError:
            pass
        try:
            step = sla.lstsq(H, rhs, check_finite=False, lapack_driver="gelsd")[0]
        except (np.linalg.LinAlgError, ValueError):  # SVD failure (e.g. non-finite entries)
            return None
        return step if np.isfinite(step).all() else None
    try:
        step = xp.linalg.solve(H, rhs)
        if bool(xp.all(xp.isfinite(step))):
            return step
    except Exception:  # singular: fall through to the pseudo-inverse
        pass
    step = xp.linalg.pinv(H) @ rhs
    return step if bool(xp.all(xp.isfinite(step))) else None
