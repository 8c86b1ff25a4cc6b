"""The data operator A of a linear-model loss: a dense array of any Array-API namespace, a
``scipy.sparse`` matrix or a ``scipy.sparse.linalg.LinearOperator`` (the last two on NumPy).

Only data is stored on the object (no module): the array namespace and the transposed copy are
recovered lazily, so an operator pickles and deep-copies like its array.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend

#: Power-iteration settings for ||A||_2^2 (the power method, Golub & Van Loan 2013, sec. 7.3.1: 30
#: iterations from a fixed random start are within a few percent; the pad keeps the estimate an upper
#: bound in practice, and the solvers backtrack on the rest).
POWER_ITERATIONS = 30
POWER_PAD = 1.05
#: The most bytes of float64 rows one row block holds (dense data worked through in row blocks).
ROW_BLOCK_BYTES = 2 * 1024**2


def block_rows(d: int, itemsize: int = 8, budget: int = ROW_BLOCK_BYTES) -> int:
    """Rows per block for d columns: ``budget`` bytes of rows of ``itemsize``-byte entries, at least 1."""
    return max(1, budget // (itemsize * max(d, 1)))


class Operator:
    """A, whatever its kind, with the few products the losses and solvers need.

    Attributes: ``A`` (the data as given, sparse matrices as CSC), ``kind`` (``"dense"``,
    ``"sparse"`` or ``"operator"``), ``shape`` (n_samples, n_features), ``dtype``, ``xp``.

    Parameters
    ----------
    A : array of shape (n_samples, n_features)
        Dense (any Array-API namespace), ``scipy.sparse`` or a ``scipy.sparse.linalg.LinearOperator``.

    Raises
    ------
    ValueError
        A not 2-D, with no rows, or with NaN or inf entries.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from cvxpar.losses import LeastSquares
    >>> op = LeastSquares(sp.eye(3, format="csr"), np.ones(3)).op
    >>> op.kind, op.shape, op.mv(np.arange(3.0)).tolist()
    ('sparse', (3, 3), [0.0, 1.0, 2.0])
    """

    def __init__(self, A) -> None:
        import scipy.sparse as sp
        from scipy.sparse.linalg import LinearOperator

        if sp.issparse(A):
            A = sp.csc_array(A, dtype=np.float64)
            if not np.isfinite(A.data).all():
                raise ValueError("A contains NaN or inf entries; clean the data (e.g. np.nan_to_num) before solving.")
            self.kind = "sparse"
        elif isinstance(A, LinearOperator):
            self.kind = "operator"
        else:
            xp, A, _ = _backend.prepare(A)
            if A.ndim != 2:
                raise ValueError(f"A must be a 2-D matrix (n_samples, n_features); got shape {tuple(A.shape)}.")
            if not bool(xp.all(xp.isfinite(A))):
                raise ValueError("A contains NaN or inf entries; clean the data (e.g. np.nan_to_num) before solving.")
            self.kind = "dense"
        if len(A.shape) != 2:
            raise ValueError(f"A must be 2-D; got shape {A.shape}.")
        self.A = A
        self.shape = (int(A.shape[0]), int(A.shape[1]))
        if self.shape[0] == 0:
            raise ValueError("A has 0 rows (no samples): a loss needs at least one sample; check how the data was sliced.")
        if self.shape[1] == 0:
            raise ValueError("A has 0 columns (no features): there is no x to solve for; check how the data was sliced.")
        self._cache: dict = {}

    # -- pickling: the namespace (a module) and the transposed copy are rebuilt on demand
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    @property
    def xp(self):
        """The array namespace of the data (NumPy's for sparse matrices and operators)."""
        if "xp" not in self._cache:
            self._cache["xp"] = _backend.array_namespace(self.A if self.kind == "dense" else np.zeros(1))
        return self._cache["xp"]

    @property
    def dtype(self):
        """The dtype of A (float64 for a LinearOperator)."""
        return self.A.dtype if self.kind == "dense" else self.xp.float64

    def like(self):
        """An array of the data's namespace, dtype and device (for placing constants).

        Returns
        -------
        array
        """
        return self.A if self.kind == "dense" else np.zeros(1)

    def _transposed(self):
        if "AT" not in self._cache:
            self._cache["AT"] = self.A.T.tocsc() if self.kind == "sparse" else self.A.T
        return self._cache["AT"]

    def mv(self, x):
        """A x.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        array of shape (n_samples,)
        """
        if self.kind == "operator":
            return np.asarray(self.A.matvec(x), dtype=np.float64).reshape(-1)
        return self.A @ x

    def rmv(self, r):
        """A^T r.

        Parameters
        ----------
        r : array of shape (n_samples,)

        Returns
        -------
        array of shape (n_features,)
        """
        if self.kind == "operator":
            return np.asarray(self.A.rmatvec(r), dtype=np.float64).reshape(-1)
        return self._transposed() @ r

    def columns(self, idx):
        """The dense (n, k) block A[:, idx] in the data's namespace.

        Parameters
        ----------
        idx : integer array of length k

        Returns
        -------
        array of shape (n_samples, k)
        """
        if self.kind == "dense":
            return self.xp.take(self.A, idx, axis=1)
        if self.kind == "sparse":
            return self.A[:, np.asarray(idx)].toarray()
        eye = np.zeros((self.shape[1], len(idx)))
        eye[np.asarray(idx), np.arange(len(idx))] = 1.0
        return np.asarray(self.A.matmat(eye), dtype=np.float64)

    def rows(self, idx) -> Operator:
        """The operator of the rows ``idx`` (dense and sparse data only).

        Parameters
        ----------
        idx : integer array

        Returns
        -------
        Operator

        Raises
        ------
        TypeError
            A is a LinearOperator.
        """
        if self.kind == "operator":
            raise TypeError("a LinearOperator A has no rows to subsample; pass A as a dense or scipy.sparse matrix.")
        if self.kind == "sparse":
            return Operator(self.A.tocsr()[np.asarray(idx)])
        return Operator(self.xp.take(self.A, index_like(self.xp, idx, self.A), axis=0))

    def column_sq_norms(self):
        """||a_j||^2 for every column j.

        Returns
        -------
        array of shape (n_features,)
        """
        if self.kind == "dense":  # in row blocks: no n x d temporary
            return sum(self.xp.sum(block * block, axis=0) for block in self._row_blocks_of_A())
        if self.kind == "sparse":
            return np.asarray(self.A.multiply(self.A).sum(axis=0)).reshape(-1)
        return np.asarray([float(np.sum(self.columns([j]) ** 2)) for j in range(self.shape[1])])

    def rounding_constants(self) -> tuple[float, float] | None:
        """(max_j ||a_j||_2, ||A||_F), computed once: the constants of the cheap bound on the gradient's
        rounding error (:meth:`cvxpar.losses.LinearModelLoss.gradient_rounding`); None for a
        LinearOperator (its columns cost a product each).

        Returns
        -------
        tuple of two floats or None
        """
        if self.kind == "operator":
            return None
        if "rounding" not in self._cache:
            sq = self.column_sq_norms()
            self._cache["rounding"] = (math.sqrt(float(self.xp.max(sq))), math.sqrt(float(self.xp.sum(sq))))
        return self._cache["rounding"]

    def abs_mv(self, v):
        """|A| v, with |A| the entrywise absolute value (dense data in row blocks, never a full copy).

        Parameters
        ----------
        v : array of shape (n_features,)

        Returns
        -------
        array of shape (n_samples,)
        """
        if self.kind == "sparse":
            return abs(self.A) @ v
        xp = self.xp
        return xp.concat([xp.abs(block) @ v for block in self._row_blocks_of_A()])

    def abs_rmv(self, w):
        """|A|^T w (dense data in row blocks, never a full copy).

        Parameters
        ----------
        w : array of shape (n_samples,)

        Returns
        -------
        array of shape (n_features,)
        """
        if self.kind == "sparse":
            return abs(self.A).T @ w
        xp = self.xp
        step = block_rows(self.shape[1])
        return sum(xp.abs(block).T @ w[k * step:(k + 1) * step] for k, block in enumerate(self._row_blocks_of_A()))

    def _row_blocks_of_A(self):
        """The dense A's row blocks (views), :func:`block_rows` rows each."""
        n, step = self.shape[0], block_rows(self.shape[1])
        return (self.A[r0:min(n, r0 + step), :] for r0 in range(0, n, step))

    def norm2_squared(self) -> float:
        """||A||_2^2 by power iteration on A^T A (deterministic start), padded by POWER_PAD.

        Returns
        -------
        float
        """
        xp = self.xp
        v = _backend.asarray_like(xp, np.random.default_rng(0).standard_normal(self.shape[1]), self.like())
        return padded_top_eigenvalue(lambda w: self.rmv(self.mv(w)), v, xp)


def index_like(xp, idx, like):
    """Integer indices ``idx`` as an index array of ``like``'s namespace and device."""
    idx = np.asarray(idx, dtype=np.int64)
    return idx if _backend.is_numpy_namespace(xp) else xp.asarray(idx, device=_backend.device(like))


def padded_top_eigenvalue(apply, v, xp) -> float:
    """POWER_PAD x the largest eigenvalue of a symmetric PSD operator ``apply`` (A^T A, or A A^T: both
    give ||A||_2^2) by POWER_ITERATIONS power iterations from ``v``.

    Parameters
    ----------
    apply : callable
        w -> M w for the symmetric positive semidefinite M.
    v : array
        The start (nonzero), in the namespace ``xp``.
    xp : module
        The array namespace.

    Returns
    -------
    float
        An estimate padded upward (0.0 when M v reaches 0, e.g. from a zero start).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.losses import padded_top_eigenvalue
    >>> M = np.diag([4.0, 1.0])
    >>> est = padded_top_eigenvalue(lambda w: M @ w, np.ones(2), np)
    >>> round(est, 6)                  # 1.05 x the top eigenvalue 4 (the pad covers a short power iteration)
    4.2
    """
    est = 0.0
    for _ in range(POWER_ITERATIONS):
        w = apply(v)
        nrm = float(xp.sqrt(xp.sum(w * w)))
        if nrm == 0.0:
            return 0.0
        est = nrm / float(xp.sqrt(xp.sum(v * v)))
        v = w / nrm
    return POWER_PAD * est
