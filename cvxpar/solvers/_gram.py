"""The n x n matrix A_J A_J^T of the free columns J, kept up to date as J changes.

Semismooth Newton steps (ssnal) solve (shift I + sigma A_J A_J^T) du = -g with J the coordinates
where the prox has slope 1.  Between two Newton steps J changes by a few columns, so instead
of forming A_J A_J^T afresh (n^2 |J| flops) the previous one is updated in place,

    A_J' A_J'^T = A_J A_J^T + A_add A_add^T - A_rem A_rem^T      (n^2 (|add| + |rem|) / 2 flops),

by BLAS syrk on one triangle (no copy of the n x n matrix).  The columns come from a contiguous
copy of A^T (a gather of contiguous rows rather than strided columns of a C-ordered A; copied in
cache-sized blocks, ``transposed``), gathered ROW_BLOCK rows at a time so that no step copies more
than a block of them.  When more columns changed than J has, it is formed afresh instead, which
costs less.  The full n x n A A^T is never formed: ||A||_2^2 (for ssnal's sigma schedule and the
choice of conjugate gradients) comes from a few Lanczos steps on A A^T (``lanczos_top_eigenvalue``,
one pass over A a step against n^2 d / 2 flops for A A^T).  Products A_J A_J^T v (Lanczos, conjugate
gradients) run over cache-sized blocks of J's rows of A^T, each used twice while in cache
(``FreeGram.gram_apply``); while conjugate gradients are in use (small sigma, the first outer steps) those
products, and Lanczos', read a float32 copy of A^T written in the same pass as A^T (half the memory
traffic; their tolerances, 1e-3 and 1e-2, lie far above single precision's rounding 2^-24), freed at the
first system solved without them.  Rounding in the updates grows with their number (each adds a few ulps of ||A||^2), so the matrix is formed afresh
once the updated columns add up to REFRESH |J|.

With many rows (n >= SINGLE_MIN_ROWS) and a moderate condition bound 1 + sigma ||A||^2 / shift, the
n x n matrix is factored in single precision (float32 LAPACK, twice the flop rate; the Woodbury columns
L^-1 A_D in single precision too) and each answer refined against the float64 A_J A_J^T to the residual
the Woodbury form is held to (mixed-precision iterative refinement: Wilkinson 1963; Higham 2002, ch. 12;
Buttari, Dongarra, Langou, Langou, Luszczek and Kurzak 2007); A_J A_J^T itself stays float64.

Storage: only the upper triangle of the C-ordered n x n array is kept (the lower triangle of
its transpose, which is what LAPACK's column-major potrf reads with lower=True), so the update,
the scaling and the Cholesky factorization never copy or symmetrize the matrix.

Dense NumPy float64 A only (``applies``); other data keep ssnal's direct products.
"""

from __future__ import annotations

import math
import mmap
from functools import partial

import numpy as np
from scipy.linalg import blas, lapack

from cvxpar.losses._operator import block_rows

#: Form A_J A_J^T afresh once the columns added and removed since the last fresh product add up
#: to REFRESH |J| (the drift then stays at a few hundred ulps of ||A||^2).
REFRESH = 4
#: Solve by conjugate gradients, without A_J A_J^T, while the matrix's condition number is at most
#: 1 + sigma ||A||^2 / shift <= CG_MAX_COND (``FreeGram.solve``), to relative residual CG_RTOL, where the
#: one-solve cost rule ``FreeGram._cg_pays`` also says so.  Past it the direct path's factor serves the
#: next Newton steps of the same sigma through Woodbury's identity, which that rule does not count.
CG_MAX_COND = 300.0
CG_RTOL = 1e-3
#: The time of a flop in a matrix-vector product (memory-bound) against one in syrk or potrf, measured
#: at 3-8 on a 2-core Xeon with one BLAS thread (``FreeGram._cg_pays``).
CG_GEMV_COST = 6.0
#: Reuse the last n x n factor through Woodbury's identity while at most n / WOODBURY_FRACTION columns
#: differ from its free set (``FreeGram._woodbury``), keeping answers with residual <= WOODBURY_RTOL ||rhs||.
WOODBURY_FRACTION = 8
WOODBURY_RTOL = 1e-9
#: With at least SINGLE_MIN_ROWS rows, factor in single precision (LAPACK spotrf: twice the flop rate of
#: dpotrf) while the matrix's condition bound 1 + sigma ||A||^2 / shift is at most SINGLE_MAX_COND, and
#: refine each answer against the float64 A_J A_J^T to residual <= WOODBURY_RTOL ||rhs|| in at most
#: REFINE_STEPS corrections (``FreeGram._refined``), else factor in double precision.
SINGLE_MIN_ROWS = 2000
SINGLE_MAX_COND = 1e6
REFINE_STEPS = 6
#: The polish's normal equations (B^T B) x = rhs of at least NORMAL_SINGLE_MIN unknowns are solved in single
#: precision and refined to LAPACK dsposv's backward error in at most NORMAL_REFINE_STEPS corrections
#: (``single_normal_solve``; with fewer, the refinement's passes over B cost about what the faster
#: product and factorization save).
NORMAL_SINGLE_MIN = 500
NORMAL_REFINE_STEPS = 10
#: The polish's next normal equations border the kept single-precision factor (``NormalFactor``) while the columns
#: added and removed number at most 1 / BORDER_FRACTION of its unknowns, else they take a fresh one.
BORDER_FRACTION = 8
#: A workspace too small for a request is replaced by one WORKSPACE_GROWTH x the request (``FreeGram._workspace``).
WORKSPACE_GROWTH = 1.25
#: Rows of A^T gathered at a time by the Gram products (``_syrk_rows``): a bounded temporary copy.
ROW_BLOCK = 2048
#: Bytes of A^T's rows per block of ``FreeGram.gram_apply`` (held in cache between its two products).
CACHE_BYTES = 1 << 21
#: Arrays of at least this many bytes (the copy of A^T, the n x n Gram and its factor) live on memory
#: mapped and populated at once (``populated``).
POPULATE_BYTES = 1 << 22
#: Lanczos (``lanczos_top_eigenvalue``) stops once the top Ritz value's residual bound is at most
#: LANCZOS_RTOL of it, or after LANCZOS_STEPS steps.
LANCZOS_RTOL = 1e-2
LANCZOS_STEPS = 60
#: Rows of A per tile of the transposed copies (``transposed``): 512 rows x 256 columns of float64 is 1 MiB,
#: on few enough pages for the address-translation cache.
TILE_ROWS = 512


class FreeGram:
    """A_J A_J^T for a boolean mask J over the columns of a dense NumPy A (n x d)."""

    def __init__(self, A: np.ndarray) -> None:
        self.A = A
        self._AT: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._G: np.ndarray | None = None  # upper triangle valid (C order)
        self._M: dict = {}  # workspaces (one per precision) for shift I + sigma G, then its Cholesky factor
        self._factor: np.ndarray | None = None  # Cholesky factor of shift I + sigma G (in a workspace's memory)
        self._factored: tuple | None = None  # the (version of G, sigma, shift, scale) it factors
        self._version = 0  # bumped whenever G changes
        self._drift = 0
        self._norm2: float | None = None  # ||A||_2^2 once norm2_squared has estimated it
        self._fmask: np.ndarray | None = None  # the J of the kept factor
        self._wcols = np.zeros(0, dtype=np.intp)  # columns D of the kept L^-1 A_D (``_woodbury``), sorted
        self._Wt: np.ndarray | None = None  # (L^-1 A_D)^T, one row per column of D
        self._WtW: np.ndarray | None = None  # its Gram W^T W
        self._wbuffers: dict = {}  # the memory of _Wt (``_woodbury_columns``), two buffers per precision
        self._AT32: np.ndarray | None = None  # float32 copy of A^T while Lanczos and CG use it (``_make_single_copy``)
        self._block: dict = {}  # buffers of gathered rows, CACHE_BYTES, one per dtype (``_gather``)
        self._rows: np.ndarray | None = None  # buffer of ROW_BLOCK gathered rows (``_syrk_rows``)
        self._work: dict = {}  # the k x k form's buffers (``_workspace``), by name and dtype
        self.factorizations = 0  # n x n Cholesky factorizations so far
        self.woodbury_solves = 0  # solves through the kept factor and Woodbury's identity
        self.cg_solves = 0  # solves by conjugate gradients
        self.single_factorizations = 0  # of the factorizations, those in single precision (``_single_pays``)

    @staticmethod
    def applies(op) -> bool:
        return op.kind == "dense" and isinstance(op.A, np.ndarray) and op.A.dtype == np.float64

    @property
    def AT(self) -> np.ndarray:
        if self._AT is None:  # a view when A is Fortran-ordered (no copy of A), else one contiguous copy
            self._AT = transposed(self.A)
        return self._AT

    def solve(self, mask: np.ndarray, sigma: float, shift: float, rhs: np.ndarray,
              scale: np.ndarray | None = None) -> np.ndarray | None:
        """(shift I + sigma S A_J A_J^T S)^-1 rhs for J = mask by Cholesky; None if not numerically PD.

        S = diag(``scale``) (the identity when None): the generalized Hessian sqrt(h'') of a
        non-quadratic loss, so that S A_J is the free block of diag(sqrt h''(z)) A.

        In the cheaper of two forms (flop counts, ``_small_pays``): the n x n matrix, kept up to date here
        (n^3 / 3 for the factorization), or, for |J| = k small against n, Woodbury's
        (rhs - A_J (shift I / sigma + A_J^T A_J)^-1 A_J^T rhs) / shift with a fresh k x k syrk
        (k^2 n / 2 + k^3 / 3, ``_small``).  When neither J, sigma nor shift changed since the last n x n
        factorization (the last Newton steps of an inner solve), that factor is reused.  The factor is
        single precision where ``_single_pays`` (answers refined to residual <= WOODBURY_RTOL ||rhs||,
        ``_refined``), else, or when that refinement does not converge, double precision.
        """
        mask = np.asarray(mask, dtype=bool)
        k = int(mask.sum())
        if k == 0:
            return rhs / shift
        if scale is None and self._cg_pays(mask, 1.0 + sigma * self._norm2 / shift if self._norm2 else math.inf):
            return self._cg(mask, sigma, shift, rhs)
        self._AT32 = None  # conjugate gradients are over (sigma grows): free the float32 copy of A^T
        if self._small_pays(k):
            return self._small(mask, sigma, shift, rhs, scale)
        G = self._update(mask)
        params = (sigma, shift, None if scale is None else scale.tobytes())
        key = (self._version, *params)
        if self._factored != key and scale is None and self._factored is not None and self._factored[1:] == params:
            x = self._woodbury(mask, sigma, shift, rhs, G)
            if x is not None:
                return x
        if self._factored == key:  # the kept factor (a single-precision one that fails to refine: in double)
            x = self._direct(sigma, shift, rhs, G)
            precisions = (np.float64,) if x is None and self._factor.dtype == np.float32 else ()
        else:
            x = None
            precisions = (np.float32, np.float64) if scale is None and self._single_pays(sigma, shift) else (np.float64,)
        for dtype in precisions:
            if self._factorize(G, key, sigma, shift, scale, mask, dtype):
                x = self._direct(sigma, shift, rhs, G)
            if x is not None:
                break
        return x

    def _small_pays(self, k: int) -> bool:
        """Whether the k x k form (``_small``: a fresh A_J^T A_J and its factor, k^2 n / 2 + k^3 / 3 flops) costs
        less than the n x n factorization (n^3 / 3)."""
        n = self.A.shape[0]
        return n**3 / 3 > k * k * n / 2 + k**3 / 3

    def _small(self, mask: np.ndarray, sigma: float, shift: float, rhs: np.ndarray,
               scale: np.ndarray | None) -> np.ndarray | None:
        """(shift I + sigma S A_J A_J^T S)^-1 rhs = (rhs - S A_J (shift I / sigma + A_J^T S^2 A_J)^-1 A_J^T S rhs) / shift
        (Woodbury's identity) by Cholesky of the k x k matrix, formed afresh by syrk; A_J^T and the k x k matrix in
        buffers kept between calls (``_workspace``: fresh arrays of their size would take their pages one fault at a time,
        at every step after a growth of sigma).

        With k >= NORMAL_SINGLE_MIN the k x k system is the polish's kind of normal equations, B^T B + (shift / sigma) I
        with B = S A_J, and is solved as they are (``single_normal_solve``: single-precision product and factor,
        refined to a double-precision Cholesky solve's backward error), in double precision where that refuses.
        Its residual s carries over exactly: the answer's residual is (sigma / shift) S A_J s."""
        idx = np.flatnonzero(mask)
        CJ = self.free_columns(idx, out=self._workspace("columns", (idx.size, self.A.shape[0]))).T  # A_J^T, k x n
        if scale is not None:
            CJ *= scale[None, :]
        k = CJ.shape[0]
        if k >= NORMAL_SINGLE_MIN:
            inner = single_normal_solve(CJ.T, CJ @ rhs, shift=shift / sigma,
                                        work=(self._workspace("single", (k, CJ.shape[1]), np.float32),
                                              self._workspace("normal", (k, k), np.float32)))
            if inner is not None:
                return (rhs - CJ.T @ inner) / shift
        small = blas.dsyrk(1.0, CJ.T, trans=1, lower=1, c=populated((k, k)).T, overwrite_c=1)  # A_J^T A_J, lower
        small.flat[:: k + 1] += shift / sigma
        inner = cholesky_solve(small, CJ @ rhs, overwrite=True)
        return None if inner is None else (rhs - CJ.T @ inner) / shift

    def _single_pays(self, sigma: float, shift: float) -> bool:
        """Whether to factor in single precision: n >= SINGLE_MIN_ROWS (below, the refinement's passes over
        the n x n matrix cost about what the faster factorization saves) and the condition bound
        1 + sigma ||A||^2 / shift at most SINGLE_MAX_COND (the refinement then contracts by about
        kappa u_single per step, u_single = 2^-24; Higham 2002, thm. 12.3)."""
        return (self.A.shape[0] >= SINGLE_MIN_ROWS and self._norm2 is not None
                and 1.0 + sigma * self._norm2 / shift <= SINGLE_MAX_COND)

    def _factorize(self, G: np.ndarray, key: tuple, sigma: float, shift: float, scale: np.ndarray | None,
                   mask: np.ndarray, dtype) -> bool:
        """Cholesky factor of shift I + sigma S G S in ``dtype`` (float32 or float64), in place in that
        precision's workspace; False when it is not numerically positive definite."""
        n = G.shape[0]
        M = self._M.get(dtype)
        if M is None:
            M = self._M[dtype] = populated(G.shape, dtype)
        np.multiply(G, sigma, out=M, casting="same_kind")
        if scale is not None:
            M *= scale[:, None]
            M *= scale[None, :]
        M.flat[:: n + 1] += shift
        potrf = lapack.spotrf if dtype == np.float32 else lapack.dpotrf
        # M.T: the column-major matrix whose lower triangle is set; factored in place
        self._factor, info = potrf(M.T, lower=True, clean=False, overwrite_a=True)
        self._factored = key if info == 0 else None
        self._fmask = mask.copy()
        self._wcols = self._wcols[:0]
        self._Wt = None
        self.factorizations += 1
        self.single_factorizations += dtype == np.float32
        return info == 0

    def _direct(self, sigma: float, shift: float, rhs: np.ndarray, G: np.ndarray) -> np.ndarray | None:
        """(shift I + sigma S G S)^-1 rhs from the kept factor: two triangular solves, and for a
        single-precision factor refined against the float64 G (``_refined``)."""
        L = self._factor

        def approx(v):
            y = _triangular(L, v)
            return None if y is None else _triangular(L, y, trans=1)
        if L.dtype == np.float64:
            x = approx(rhs)
            return x if x is not None and np.isfinite(x).all() else None
        return self._refined(approx, sigma, shift, rhs, G, REFINE_STEPS)

    def _refined(self, approx, sigma: float, shift: float, rhs: np.ndarray, G: np.ndarray, steps: int) -> np.ndarray | None:
        """x with ||(shift I + sigma G) x - rhs|| <= WOODBURY_RTOL ||rhs|| by iterative refinement,
        x <- x + approx(rhs - (shift I + sigma G) x) from x = approx(rhs), the residual in float64 from the
        kept G (dsymv on its triangle) and ``approx`` an approximate inverse (Wilkinson 1963; Higham 2002,
        sec. 12.1: with approx from a factorization of precision u and kappa u < 1 each step contracts
        the error by about kappa u); None after ``steps`` residuals above the bound."""
        x = approx(rhs)
        bound = WOODBURY_RTOL * float(np.linalg.norm(rhs))
        for step in range(steps):
            if x is None or not np.isfinite(x).all():
                return None
            x = x.astype(np.float64, copy=False)
            res = rhs - shift * x - sigma * blas.dsymv(1.0, G.T, x, lower=1)
            if float(np.linalg.norm(res)) <= bound:
                return x
            if step + 1 < steps:
                dx = approx(res)
                x = None if dx is None else x + dx
        return None

    def _cg_pays(self, mask: np.ndarray, kappa: float) -> bool:
        """Whether conjugate gradients (``_cg``) cost less than the direct solve for a matrix of condition
        at most ``kappa``: CG's products (one memory-bound pass of 2 n |J| flops an iteration, ``gram_apply``,
        at CG_GEMV_COST x a BLAS-3 flop's time) against the Gram update or fresh product
        (n^2 min(changed, |J|)) and the factorization (n^3 / 3)."""
        if kappa > CG_MAX_COND:
            return False
        n, k = self.A.shape[0], int(mask.sum())
        changed = k
        if self._G is not None:
            changed = min(changed, int(np.count_nonzero(mask != self._mask)))
        iterations = math.sqrt(kappa) * math.log(2.0 / CG_RTOL) / 2.0
        return CG_GEMV_COST * n * k * 2.0 * (iterations + 1.0) < n * n * changed + n**3 / 3

    def _woodbury(self, mask: np.ndarray, sigma: float, shift: float, rhs: np.ndarray, G: np.ndarray) -> np.ndarray | None:
        """(shift I + sigma A_J A_J^T)^-1 rhs from the kept factor L L^T = shift I + sigma A_J0 A_J0^T of an
        earlier free set J0 (same sigma and shift), by the Sherman-Morrison-Woodbury identity over the r
        columns D = J xor J0 (Golub and Van Loan 2013, sec. 2.1.4):

            M = L L^T + sigma U S U^T,  U = A_D,  S = diag(+1 entered, -1 left),
            M^-1 rhs = L^-T (y - W C^-1 W^T y),  y = L^-1 rhs,  W = L^-1 U,  C = S / sigma + W^T W,

        while r <= n / WOODBURY_FRACTION.  W and W^T W are kept between calls with the same factor: D
        grows by a few columns per Newton step, so a call costs n^2 per new column (the triangular
        solve) and n r per new column (its row of W^T W) plus the r x r solve, instead of n^2 r.
        C is indefinite when columns left; the answer is kept only when its residual against the kept
        A_J A_J^T (``G``) is below WOODBURY_RTOL ||rhs||, else None (the caller factors afresh)."""
        D = np.flatnonzero(mask != self._fmask)
        r, n = D.size, rhs.size
        if r == 0 or WOODBURY_FRACTION * r > n:
            return None
        L = self._factor
        Wt, WtW = self._woodbury_columns(D)
        if Wt is None:
            return None
        C = WtW.astype(np.float64)
        C.flat[:: r + 1] += np.where(mask[D], 1.0, -1.0) / sigma
        lu, piv, info = lapack.dgetrf(C, overwrite_a=True)  # C = P L U, once for every refinement step
        if info != 0 or not np.isfinite(lu).all():
            return None

        def approx(v):
            y = _triangular(L, v)
            if y is None:
                return None
            t, info = lapack.dgetrs(lu, piv, (Wt @ y).astype(np.float64))
            return None if info != 0 else _triangular(L, y - Wt.T @ t.astype(y.dtype), trans=1)
        x = self._refined(approx, sigma, shift, rhs, G, 1 if L.dtype == np.float64 else REFINE_STEPS)
        if x is not None:
            self.woodbury_solves += 1
        return x

    def _woodbury_columns(self, D: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(W^T, W^T W) for W = L^-1 A_D (L the kept factor, D sorted), reusing the rows and entries of the
        last call's for the columns of D it had; the new columns by one triangular solve."""
        old = self._wcols
        pos = np.minimum(np.searchsorted(old, D), max(old.size - 1, 0))
        kept = (old[pos] == D) if old.size else np.zeros(D.size, dtype=bool)
        new = np.flatnonzero(~kept)
        n, dtype = self.A.shape[0], self._factor.dtype
        buffers = self._wbuffers.get(dtype)
        if buffers is None:  # two buffers, alternating: the kept rows move from one to the other
            rows = n // WOODBURY_FRACTION + 1
            buffers = self._wbuffers[dtype] = (populated((rows, n), dtype), populated((rows, n), dtype))
        buffer = buffers[1] if self._Wt is not None and np.shares_memory(self._Wt, buffers[0]) else buffers[0]
        Wt = buffer[: D.size]
        WtW = np.empty((D.size, D.size), dtype)
        if new.size:
            Wn = _triangular(self._factor, self.AT[D[new]].T)
            if Wn is None:
                return None, None
            Wt[new] = Wn.T
        k = np.flatnonzero(kept)
        if k.size:
            Wt[k] = self._Wt[pos[k]]
            WtW[np.ix_(k, k)] = self._WtW[np.ix_(pos[k], pos[k])]
        if new.size:
            cross = Wt[new] @ Wt.T  # rows of W^T W for the new columns
            WtW[new] = cross
            WtW[:, new] = cross.T
        self._wcols, self._Wt, self._WtW = D, Wt, WtW
        return Wt, WtW

    def _cg(self, mask: np.ndarray, sigma: float, shift: float, rhs: np.ndarray) -> np.ndarray | None:
        """(shift I + sigma A_J A_J^T)^-1 rhs by conjugate gradients (Hestenes and Stiefel 1952) from 0, to
        ||residual|| <= CG_RTOL ||rhs||: one pass over A_J per iteration (``gram_apply``), no n x n matrix.

        The matrix's eigenvalues lie in [shift, shift + sigma ||A||^2], so CG needs at most about
        sqrt(kappa) ln(2 / CG_RTOL) / 2 iterations, kappa = 1 + sigma ||A||^2 / shift (Golub and Van Loan
        2013, thm. 11.3.3); every iterate is a descent direction of ssnal's phi (rhs = -grad phi), so
        the line search accepts it as it does the exact step (inexact semismooth Newton, Li, Sun and
        Toh 2018, alg. SSN)."""
        rows = np.flatnonzero(mask)

        def apply(v):
            return shift * v + sigma * self.gram_apply(v, rows, single=True)
        x = np.zeros_like(rhs)
        r = rhs.copy()
        p = r.copy()
        rr = float(r @ r)
        stop = (CG_RTOL * float(np.sqrt(rr))) ** 2
        limit = int(np.ceil(np.sqrt(CG_MAX_COND) * np.log(2.0 / CG_RTOL))) + 1
        for _ in range(limit):
            if rr <= stop:
                break
            q = apply(p)
            a = rr / float(p @ q)
            x += a * p
            r -= a * q
            rr, rr_old = float(r @ r), rr
            p = r + (rr / rr_old) * p
        self.cg_solves += 1
        return x if np.isfinite(x).all() else None

    def gram_apply(self, v: np.ndarray, rows: np.ndarray | None = None, single: bool = False) -> np.ndarray:
        """A_J A_J^T v for the columns J = ``rows`` of A (all of them when None) in one pass over A_J:
        sum over blocks B of CACHE_BYTES of J's rows of A^T of B^T (B v), each block read from memory
        once and used twice from cache (a gathered block goes to a reused buffer: no copy of A_J).

        ``single=True`` (Lanczos and conjugate gradients, which need A_J A_J^T v to far less than the
        2^-24 relative accuracy of single precision) reads the float32 copy of A^T while it is kept
        (``_make_single_copy``): half the memory traffic of this memory-bound pass."""
        AT = self._AT32 if single and self._AT32 is not None else self.AT
        v = v.astype(AT.dtype, copy=False)
        step = block_rows(AT.shape[1], AT.itemsize, CACHE_BYTES)
        total = AT.shape[0] if rows is None else rows.size
        out = np.zeros(AT.shape[1])
        for start in range(0, total, step):
            B = AT[start:start + step] if rows is None else self._gather(rows[start:start + step], AT)
            out += B.T @ (B @ v)
        return out

    def columns_product(self, idx: np.ndarray, v: np.ndarray) -> np.ndarray:
        """A_I v for the columns I = ``idx`` of A: sum over blocks of CACHE_BYTES of I's rows of A^T of B^T v_B,
        gathered into the reused buffer (no k x n copy of A_I^T, whose fresh pages cost kernel time)."""
        AT = self.AT
        step = block_rows(AT.shape[1], AT.itemsize, CACHE_BYTES)
        out = np.zeros(AT.shape[1])
        for start in range(0, idx.size, step):
            out += self._gather(idx[start:start + step], AT).T @ v[start:start + step]
        return out

    def free_columns(self, idx: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A_I for the columns I = ``idx`` of A, Fortran-ordered n x |I|: the rows I of the contiguous A^T gathered
        into ``out`` (|I| x n, C-ordered), else into a new populated buffer (``populated``: a fresh array of this
        size would take its pages one fault at a time)."""
        out = populated((idx.size, self.A.shape[0])) if out is None else out
        return np.take(self.AT, idx, axis=0, out=out, mode="clip").T  # idx valid: no checks

    def _workspace(self, name: str, shape: tuple[int, int], dtype=np.float64) -> np.ndarray:
        """A C-ordered array of ``shape`` (contents undefined) on a buffer of this FreeGram kept between calls under
        ``name``, populated once and replaced by one WORKSPACE_GROWTH x the size when too small (the k x k form's
        temporaries: at 4000 x 40000, ~100 MB each, whose fresh pages cost the kernel ~0.07 s a step)."""
        size = math.prod(shape)
        key = (name, np.dtype(dtype))
        buffer = self._work.get(key)
        if buffer is None or buffer.size < size:
            buffer = self._work[key] = populated((int(WORKSPACE_GROWTH * size),), dtype)
        return buffer[:size].reshape(shape)

    def _gather(self, idx: np.ndarray, AT: np.ndarray) -> np.ndarray:
        """The rows ``idx`` (at most ``block_rows``) of ``AT``, copied into the reused block buffer of its dtype."""
        block = self._block.get(AT.dtype)
        if block is None:
            block = self._block[AT.dtype] = np.empty((block_rows(AT.shape[1], AT.itemsize, CACHE_BYTES), AT.shape[1]), AT.dtype)
        return np.take(AT, idx, axis=0, out=block[: idx.size], mode="clip")  # idx valid: no checks

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """A_J A_J^T for J = mask, as a new symmetric array (for checks and fallbacks: ``solve`` is the fast path)."""
        G = self._update(np.asarray(mask, dtype=bool))
        return np.triu(G) + np.triu(G, 1).T

    def _update(self, mask: np.ndarray) -> np.ndarray:
        k = int(mask.sum())
        if self._G is not None:
            add = np.flatnonzero(mask & ~self._mask)
            rem = np.flatnonzero(self._mask & ~mask)
            r = add.size + rem.size
            if r == 0:
                return self._G
            # an update costs n^2 r / 2 flops, a fresh product n^2 k / 2 (``_fresh``)
            if r < k and self._drift + r < REFRESH * max(k, 1):
                G = self._G
                self._syrk_rows(G, add, 1.0)
                self._syrk_rows(G, rem, -1.0)
                self._mask, self._drift, self._version = mask.copy(), self._drift + r, self._version + 1
                return G
        self._G, self._mask, self._drift, self._version = self._fresh(mask), mask.copy(), 0, self._version + 1
        return self._G

    def _syrk_rows(self, G: np.ndarray, idx: np.ndarray, alpha: float) -> None:
        """G += alpha A_I A_I^T (I = ``idx``) on the upper triangle of the C-ordered G, ROW_BLOCK rows of A^T at
        a time, gathered into one reused buffer (populated once: no fresh pages per update)."""
        if idx.size == 0:
            return
        if self._rows is None:
            self._rows = populated((min(ROW_BLOCK, self.AT.shape[0]), self.AT.shape[1]))
        for start in range(0, idx.size, ROW_BLOCK):
            part = idx[start:start + ROW_BLOCK]
            _syrk_into(G, np.take(self.AT, part, axis=0, out=self._rows[: part.size], mode="clip"), alpha)

    def update_product(self, az: np.ndarray, z: np.ndarray, z_new: np.ndarray) -> np.ndarray:
        """A z_new from az = A z through the columns where z changed (a Newton step moves the free
        coordinates and those that enter or leave a plateau: a few n of the d), or afresh when more
        than a quarter changed.  The caller re-forms A z each outer step, so rounding does not pile up."""
        idx = np.flatnonzero(z_new != z)
        if 4 * idx.size > z.size:
            return self.A @ z_new
        return az + self.columns_product(idx, z_new[idx] - z[idx])

    def newton_product(self, az: np.ndarray, z: np.ndarray, z_new: np.ndarray, free: np.ndarray, stay: np.ndarray,
                       du: np.ndarray, atdu: np.ndarray, c: float) -> np.ndarray:
        """A z_new after a Newton step u -> u + alpha du, from az = A z and the Gram of the step's free set.

        A free coordinate that stays in its slope-1 window moves by exactly c (A^T du)_i (c = -sigma
        alpha: z = prox(x - sigma A^T u) shifts with w there), so with J = ``free`` (the mask of the
        last ``solve``) and S = ``stay``,

            A z_new = A z + c A_J A_J^T du + sum_{i not in S} a_i (dz_i - c [i in J] (A^T du)_i),

        one n x n symmetric product (dsymv on the kept triangle) plus the columns that crossed a
        kink or left a plateau (a few), instead of gathering every moved column (~1000 at
        1000 x 10000).  Falls back to :meth:`update_product` when the kept Gram is not A_J A_J^T.
        """
        if self._G is None or not np.array_equal(self._mask, free):
            return self.update_product(az, z, z_new)
        corr = z_new - z
        corr[free] -= c * atdu[free]
        corr[stay] = 0.0
        idx = np.flatnonzero(corr)
        if 4 * idx.size > z.size:  # most coordinates crossed (early steps): the direct product is cheaper
            return self.A @ z_new
        out = az + c * blas.dsymv(1.0, self._G.T, du, lower=1)
        if idx.size:
            out += self.columns_product(idx, corr[idx])
        return out

    def norm2_squared(self) -> float:
        """||A||_2^2 = lambda_max(A A^T) padded by the loss's POWER_PAD: Lanczos on A A^T
        (``lanczos_top_eigenvalue``; one pass over A a step through ``gram_apply``, no n x n matrix)."""
        from cvxpar.losses._operator import POWER_PAD

        self._make_single_copy()
        top = lanczos_top_eigenvalue(partial(self.gram_apply, single=True),
                                     np.random.default_rng(0).standard_normal(self.A.shape[0]))
        self._norm2 = POWER_PAD * top
        return self._norm2

    def _make_single_copy(self) -> None:
        """The float32 copy of A^T for the products of Lanczos and conjugate gradients (``gram_apply``,
        single=True), written in the same pass over A as A^T itself when that is not made yet."""
        if self._AT32 is not None:
            return
        if self._AT is None and not self.A.T.flags.c_contiguous:
            self._AT, self._AT32 = transposed_copies(self.A, (np.float64, np.float32))
        else:
            self._AT32 = transposed_copies(self.AT.T, (np.float32,))[0]

    def _fresh(self, mask: np.ndarray) -> np.ndarray:
        """A_J A_J^T afresh (upper triangle), in the kept matrix's memory when there is one."""
        G = populated((self.A.shape[0],) * 2) if self._G is None else self._G
        G.fill(0.0)
        self._syrk_rows(G, np.flatnonzero(mask), 1.0)
        return G


def lanczos_top_eigenvalue(apply, v0: np.ndarray, rtol: float = LANCZOS_RTOL, steps: int = LANCZOS_STEPS) -> float:
    """An upper estimate of the largest eigenvalue of a symmetric positive semidefinite M (``apply``:
    v -> M v) by the Lanczos process from ``v0`` with full reorthogonalization (Golub and Van Loan 2013,
    sec. 10.1).

    After j steps the tridiagonal T_j = Q_j^T M Q_j has a top eigenpair (theta, s); theta <= lambda_max
    (Cauchy interlacing) and M has an eigenvalue within the residual r = beta_j |s_j| of theta (Golub
    and Van Loan 2013, thm. 10.1.2), which converges to lambda_max from below much faster than power
    iteration (Kaniel-Paige-Saad bounds, ibid. sec. 10.1.5).  Stops once r <= ``rtol`` theta (or after
    ``steps`` steps, or on an invariant subspace, r = 0) and returns theta + r.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([4.0, 1.0, 0.5])
    >>> round(lanczos_top_eigenvalue(lambda v: M @ v, np.ones(3)), 12)
    4.0
    """
    from scipy.linalg import eigh_tridiagonal

    n = v0.size
    steps = min(steps, n)
    Q = np.empty((steps, n))
    q = v0 / np.linalg.norm(v0)
    alpha: list[float] = []
    beta: list[float] = []
    theta = bound = 0.0
    for j in range(steps):
        Q[j] = q
        w = apply(q)
        alpha.append(float(q @ w))
        for _ in range(2):  # classical Gram-Schmidt twice: orthogonal to working precision
            w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(np.linalg.norm(w))
        vals, vecs = eigh_tridiagonal(np.array(alpha), np.array(beta), select="i", select_range=(j, j))
        theta, bound = float(vals[0]), b * abs(float(vecs[-1, 0]))
        if bound <= rtol * theta or b == 0.0:
            break
        beta.append(b)
        q = w / b
    return theta + bound


def transposed(A: np.ndarray, block: int = 256, rows: int = TILE_ROWS) -> np.ndarray:
    """A^T as a C-contiguous array (a view when A is Fortran-ordered), copied in tiles of ``rows`` rows by
    ``block`` columns of A.

    NumPy's one-shot ``ascontiguousarray(A.T)`` walks one of the two arrays with a stride of a whole
    row and takes ~10x longer on a large A than copying tiles that fit in cache; tiles of at most
    ``rows`` rows also keep the rows of A one tile touches (each a whole row's stride apart, each on
    its own memory page) within the processor's address-translation cache."""
    if A.T.flags.c_contiguous:
        return A.T
    return transposed_copies(A, (A.dtype,), block, rows)[0]


def transposed_copies(A: np.ndarray, dtypes: tuple, block: int = 256, rows: int = TILE_ROWS) -> list[np.ndarray]:
    """C-contiguous copies of A^T in each of ``dtypes``, written from one tiled pass over A (``transposed``):
    each block of ``block`` rows of the first copy is transposed from A in tiles of ``rows`` x ``block``,
    the others converted from it while it is in cache."""
    outs = [populated((A.shape[1], A.shape[0]), dtype) for dtype in dtypes]
    for j in range(0, A.shape[1], block):
        for i in range(0, A.shape[0], rows):
            outs[0][j:j + block, i:i + rows] = A[i:i + rows, j:j + block].T
        for out in outs[1:]:
            out[j:j + block] = outs[0][j:j + block]
    return outs


def populated(shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """A zero-filled C-ordered array; of POPULATE_BYTES or more, on an anonymous memory map whose pages the
    kernel maps in one call (Linux MAP_POPULATE).

    NumPy asks for transparent huge pages on large allocations (madvise MADV_HUGEPAGE), and a kernel
    that must compact memory to find them can then spend longer in the page faults of a fresh array
    than the solver spends computing with it; a populated map of ordinary pages costs one pass of
    zeroing.  The map is freed with the array.
    """
    size = math.prod(shape) * np.dtype(dtype).itemsize
    flags = getattr(mmap, "MAP_POPULATE", None)
    if size < POPULATE_BYTES or flags is None:
        return np.zeros(shape, dtype=dtype)
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def _syrk_into(G: np.ndarray, rows: np.ndarray, alpha: float) -> None:
    """G += alpha rows^T rows on the upper triangle of the C-ordered G (in place, BLAS syrk)."""
    out = blas.dsyrk(alpha, rows.T, beta=1.0, c=G.T, trans=0, lower=1, overwrite_c=1)
    if not np.shares_memory(out, G):  # defensive: a BLAS build that copied c
        G.T[...] = out


def _triangular(L: np.ndarray, B: np.ndarray, trans: int = 0) -> np.ndarray | None:
    """L^-1 B (``trans=0``) or L^-T B (``trans=1``) for the lower-triangular factor L (LAPACK trtrs in L's
    precision, B cast to it); None when L is singular.  Two of these are LAPACK's potrs, which with one
    right-hand side runs several times slower than the two triangular solves in OpenBLAS."""
    trtrs = lapack.strtrs if L.dtype == np.float32 else lapack.dtrtrs
    x, info = trtrs(L, B.astype(L.dtype, copy=False), lower=1, trans=trans)
    return x if info == 0 else None


def single_normal_solve(B: np.ndarray, rhs: np.ndarray, steps: int = NORMAL_REFINE_STEPS,
                        shift: float = 0.0, keep: NormalFactor | None = None,
                        work: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
    """x = (B^T B + shift I)^-1 rhs for a float64 n x k B (the exact polish step's normal equations, shift = 0;
    the k x k Woodbury form of ssnal's Newton systems, shift = shift / sigma there) from a single-precision
    Cholesky factor of B^T B + shift I, refined in double precision; None when the refinement does not
    converge (the matrix too ill-conditioned for single precision, or out of its range).

    B^T B is formed from a float32 copy of B (BLAS ssyrk, k^2 n / 2 multiply-adds at twice dsyrk's rate)
    and factored in place (spotrf), both in populated buffers; each correction solves with that factor
    against the float64 residual r = rhs - B^T (B x) - shift x, two passes over B (no float64 k x k product).
    Mixed-precision iterative refinement (Wilkinson 1963; Higham 2002, ch. 12; Buttari, Dongarra,
    Langou, Langou, Luszczek and Kurzak 2007) with LAPACK dsposv's stopping test: done once
    ||r||_inf <= sqrt(k) ||x||_inf ||B^T B + shift I||_inf eps (eps the float64 unit roundoff), the
    backward error a double-precision Cholesky solve attains; abandoned once a correction shrinks ||r||_inf
    by less than half, or after ``steps`` corrections.  Each step contracts the error by about
    kappa(B^T B + shift I) 2^-24 (Higham 2002, thm. 12.3).

    ``keep`` (shift = 0 only), when given, keeps B, the factor and the row sums of |B^T B| for the next
    system on nearby columns (:class:`NormalFactor`).  ``work``, when given, is the memory for the float32 copy of B
    and for B^T B (C-ordered k x n and k x k float32 arrays, overwritten), instead of fresh populated buffers.
    """
    n, k = B.shape
    if work is None:
        B32, P = populated((k, n), np.float32), populated((k, k), np.float32)
    else:
        B32, P = work
        P.fill(0.0)  # the triangle ssyrk leaves is read as zeros (``_symmetric_row_sums``)
    np.copyto(B32, B.T, casting="same_kind")  # B.T: C-contiguous when B is a gather of rows of A^T
    if not np.isfinite(B32).all():
        return None
    P = blas.ssyrk(1.0, B32.T, trans=1, lower=1, c=P.T, overwrite_c=1).T  # B^T B: lower triangle of P.T
    del B32
    P.flat[:: k + 1] += shift
    with np.errstate(over="ignore", invalid="ignore"):  # B^T B beyond float32's range: refused below
        sums = _symmetric_row_sums(P)
    norm = float(np.max(sums, initial=0.0))
    if not math.isfinite(norm):
        return None
    factor, info = lapack.spotrf(P.T, lower=True, clean=False, overwrite_a=True)
    if info != 0:
        return None
    x = _refined_normal(partial(_cholesky_apply, factor), B, rhs, shift, norm, steps)
    if keep is not None and x is not None and not shift:
        keep.B, keep.factor, keep.sums = B, factor, sums
    return x


def _cholesky_apply(factor: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """(L L^T)^-1 v in float64 for the lower-triangular ``factor`` L (its precision), None if not finite."""
    y = _triangular(factor, v)
    y = None if y is None else _triangular(factor, y, trans=1)
    return None if y is None or not np.isfinite(y).all() else y.astype(np.float64)


def _refined_normal(approx, B: np.ndarray, rhs: np.ndarray, shift: float, norm: float, steps: int) -> np.ndarray | None:
    """Iterative refinement of (B^T B + shift I) x = rhs from x = approx(rhs), x <- x + approx(r) with the float64
    residual r = rhs - B^T (B x) - shift x, to LAPACK dsposv's test ||r||_inf <= sqrt(k) ||x||_inf ``norm`` eps
    (``norm`` = ||B^T B + shift I||_inf); None once a correction shrinks ||r||_inf by less than half, or after
    ``steps`` corrections (``single_normal_solve``)."""
    x = approx(rhs)
    bound = math.sqrt(B.shape[1]) * norm * np.finfo(np.float64).eps
    previous = math.inf
    for _ in range(steps + 1):
        if x is None:
            return None
        r = rhs - B.T @ (B @ x)
        if shift:
            r -= shift * x
        size = float(np.max(np.abs(r), initial=0.0))
        if size <= bound * float(np.max(np.abs(x), initial=0.0)):
            return x
        if not size < 0.5 * previous:
            return None
        previous = size
        dx = approx(r)
        x = None if dx is None else x + dx
    return None


class NormalFactor:
    """The polish's normal equations (A_F^T A_F) x = rhs over a sequence of nearby free sets F, the factor of one
    reused for the next by bordering.

    Two consecutive exact polish steps on least squares solve with the free columns F1 and F2 of the same A,
    which differ by a few columns (one, at the end of a polish).  With the single-precision factor
    L L^T ~ H1 = B1^T B1 of F1 kept (``single_normal_solve``), the system on F2 = (F1 minus R) plus the new
    columns N is the bordered one on F1 and N with x_R held at 0 by multipliers mu (Golub and Van Loan 2013,
    sec. 3.2.11 on bordered systems; the Schur complement, sec. 4.1.4):

        [H1    V] [x1]   [r1 ]
        [V^T  -E] [z ] = [r_N],    V = [C, E_R],  C = B1^T B_N,  z = [x_N; mu],  E = blkdiag(B_N^T B_N, 0),
                                   r_N padded with |R| zeros,

    so that with Y = H1^-1 V (|N| + |R| solves with L) and S = V^T Y - E, of order |N| + |R|,

        z = S^-1 (V^T H1^-1 r1 - r_N),   x1 = H1^-1 r1 - Y z

    (the entries of x1 on R are 0, the multipliers cancel the rows of R); x on F2 is x1 off R and x_N.  That
    approximate inverse (L's precision) is refined against the float64 residual of B2^T B2 as the fresh solve's
    is, to dsposv's test with ||B2^T B2||_inf updated from the kept row sums of |H1| (the columns R removed,
    those of C and B_N^T B_N added).  It is used while |N| + |R| <= k1 / BORDER_FRACTION and B2's columns on
    F1 and F2 equal B1's exactly (a loss with h'' = 1 everywhere; a Hessian factor that moved with x gets a
    fresh factor), and costs (|N| + |R|) (k1^2 + k1 n) against a fresh one's k^2 n / 2 + k^3 / 3.  S singular,
    or a refinement that does not converge (B2^T B2 singular or too ill-conditioned for single precision): a
    fresh factorization, which refuses in turn as ``single_normal_solve`` does.
    """

    def __init__(self) -> None:
        self.idx: np.ndarray | None = None  # F1, sorted column indices
        self.B: np.ndarray | None = None  # B1 = A_F1 (n x k1)
        self.factor: np.ndarray | None = None  # float32 Cholesky factor of B1^T B1 (lower)
        self.sums: np.ndarray | None = None  # row sums of |B1^T B1| (float32 product)
        self.bordered = 0  # solves by bordering
        self.fresh = 0  # solves with a fresh factor

    def solve(self, B: np.ndarray, idx: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
        """(B^T B)^-1 rhs for B = A_idx (``idx`` sorted): by bordering the kept factor where that applies, else
        by ``single_normal_solve`` (whose factor is then kept); None where both refuse.  B is kept by reference, not
        copied: a caller must not overwrite it before the next call (the polish gathers a new B each step)."""
        idx = np.asarray(idx)
        x = self._bordered(B, idx, rhs)
        if x is not None:
            self.bordered += 1
            return x
        self.idx = self.B = self.factor = self.sums = None
        x = single_normal_solve(B, rhs, keep=self)
        if x is not None and self.B is B:
            self.idx = idx.copy()
            self.fresh += 1
        return x

    def _bordered(self, B2: np.ndarray, idx2: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
        """The bordered solve of the class docstring, or None where it does not apply or does not converge."""
        idx1, B1, L = self.idx, self.B, self.factor
        if idx1 is None or B2.shape[0] != B1.shape[0]:
            return None
        in2 = np.isin(idx1, idx2, assume_unique=True)  # F1's columns that stay
        in1 = np.isin(idx2, idx1, assume_unique=True)  # F2's columns that were in F1
        R, N = np.flatnonzero(~in2), np.flatnonzero(~in1)  # positions in F1 / in F2
        m, a, k1 = R.size, N.size, idx1.size
        stay1, stay2 = np.flatnonzero(in2), np.flatnonzero(in1)
        if BORDER_FRACTION * (m + a) > k1 or not _same_columns(B1, stay1, B2, stay2):
            return None
        BN = B2[:, N]
        cross = B1.T @ np.concatenate([BN, B1[:, R]], axis=1)  # [C, H1[:, R]], float64
        C = cross[:, :a]
        D = BN.T @ BN
        sums = self.sums[stay1] - np.abs(cross[stay1, a:]).sum(axis=1) + np.abs(C[stay1]).sum(axis=1)
        norm = max(float(np.max(sums, initial=0.0)),
                   float(np.max(np.abs(C[stay1]).sum(axis=0) + np.abs(D).sum(axis=1), initial=0.0)))
        V = np.zeros((k1, a + m))
        V[:, :a] = C
        V[R, a + np.arange(m)] = 1.0
        Y = _cholesky_apply(L, V)
        if Y is None:
            return None
        S = V.T @ Y
        S[:a, :a] -= D
        lu, piv, info = lapack.dgetrf(S, overwrite_a=True) if a + m else (S, np.zeros(0, np.int32), 0)
        if info != 0 or not np.isfinite(lu).all():
            return None

        def approx(v):
            r1 = np.zeros(k1)
            r1[stay1] = v[stay2]
            y1 = _cholesky_apply(L, r1)
            if y1 is None:
                return None
            t = V.T @ y1
            t[:a] -= v[N]
            z, info = lapack.dgetrs(lu, piv, t) if a + m else (t, 0)
            if info != 0:
                return None
            x = np.empty(idx2.size)
            x[stay2] = (y1 - Y @ z)[stay1]
            x[N] = z[:a]
            return x if np.isfinite(x).all() else None
        return _refined_normal(approx, B2, rhs, 0.0, norm, NORMAL_REFINE_STEPS)


def _same_columns(B1: np.ndarray, p1: np.ndarray, B2: np.ndarray, p2: np.ndarray, block: int = 256) -> bool:
    """Whether B1[:, p1] == B2[:, p2] exactly, compared ``block`` columns at a time (no n x k temporary)."""
    for s in range(0, p1.size, block):
        if not np.array_equal(B1[:, p1[s:s + block]], B2[:, p2[s:s + block]]):
            return False
    return True


def _symmetric_row_sums(T: np.ndarray, block: int = 256) -> np.ndarray:
    """The absolute row sums of the symmetric M of which the C-ordered ``T`` holds one triangle (zeros in the
    other), in blocks of ``block`` rows (no k x k temporary)."""
    rows = np.zeros(T.shape[0])
    cols = np.zeros(T.shape[0])
    for i in range(0, T.shape[0], block):
        a = np.abs(T[i:i + block])
        rows[i:i + block] += a.sum(axis=1)
        cols += a.sum(axis=0)
    return rows + cols - np.abs(np.diagonal(T))


def _symmetric_inf_norm(T: np.ndarray, block: int = 256) -> float:
    """||M||_inf (the largest absolute row sum) of the symmetric M of which ``T`` holds one triangle
    (``_symmetric_row_sums``)."""
    return float(np.max(_symmetric_row_sums(T, block), initial=0.0))


def cholesky_solve(M: np.ndarray, rhs: np.ndarray, overwrite: bool = False) -> np.ndarray | None:
    """x = M^-1 rhs for a symmetric positive definite M by LAPACK potrf/potrs (lower triangle of
    the column-major M); None if not PD.

    (scipy.linalg.cho_factor adds ~30% of overhead at n = 1000 through its checks and copies.)
    ``overwrite=True`` lets LAPACK factor M in place (M is then garbage).
    """
    c, info = lapack.dpotrf(M, lower=True, clean=False, overwrite_a=overwrite)
    if info != 0:
        return None
    x, info = lapack.dpotrs(c, rhs, lower=True)
    if info != 0 or not np.isfinite(x).all():
        return None
    return x
