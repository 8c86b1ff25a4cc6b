"""The weighted Gram a^T diag(w) a of one row chunk, in row blocks of bounded size.

A Newton-type pass needs, per row chunk a (rows x d) and curvature weights w = h''(a x),

    H = a^T diag(w) a = sum over row blocks B of a_B^T diag(w_B) a_B,

(Lee, Sun & Saunders 2014, sec. 1: the Hessian of f(x) = sum_i h(a_i^T x)).  Forming diag(w) a, or
sqrt(w) * a, for the whole chunk at once costs a fresh allocation of the chunk's size per task; here
each row block B holds at most ``cvxpar.losses._operator.ROW_BLOCK_BYTES`` of scaled rows.  On NumPy
chunks each block is a rank-|B| update of the upper triangle by the BLAS ``dsyrk`` (Dongarra et al.
1990, "A set of level 3 BLAS"): with w = w+ - w- (positive and negative parts),

    a_B^T diag(w_B) a_B = (sqrt(w+_B) a_B)^T (sqrt(w+_B) a_B) - (sqrt(w-_B) a_B)^T (sqrt(w-_B) a_B),

the second term only when some weight is negative (a generalized h'' of a nonconvex h).  Other
Array-API namespaces (CuPy, ...) form (w_B a_B)^T a_B with ``@`` block by block.  ``columns``
restricts a to the columns F (the polish's block a_F^T diag(w) a_F), selected block by block too.
"""

from __future__ import annotations

import numpy as np

from cvxpar._backend import array_namespace, device, is_numpy_namespace
from cvxpar.losses._operator import block_rows


def weighted_gram(a, w, columns=None):
    """a_F^T diag(w) a_F (d x d, or k x k for the k ``columns`` F), float64 in a's namespace (see the
    module docstring); ``w`` a float64 vector of a's rows in a's namespace."""
    xp = array_namespace(a)
    idx = None if columns is None else xp.asarray(columns, device=device(a))
    k = a.shape[1] if columns is None else int(columns.shape[0])
    step = block_rows(k)
    if is_numpy_namespace(xp):
        return _numpy_weighted_gram(a, w, idx, k, step)
    out = xp.zeros((k, k), dtype=xp.float64, device=device(a))
    rows = a.shape[0]
    for start in range(0, rows, step):
        stop = min(start + step, rows)  # the Array API leaves out-of-range slice stops unspecified
        block = a[start:stop, ...] if idx is None else xp.take(a[start:stop, ...], idx, axis=1)
        block = xp.astype(block, xp.float64)
        out = out + (block * w[start:stop, None]).T @ block
    return out


def _numpy_weighted_gram(a: np.ndarray, w: np.ndarray, idx, k: int, step: int) -> np.ndarray:
    from scipy.linalg.blas import dsyrk

    out = np.zeros((k, k), order="F")
    for start in range(0, a.shape[0], step):
        block = a[start:start + step] if idx is None else a[start:start + step, idx]
        wb = w[start:start + step]
        for sign, part in ((1.0, np.maximum(wb, 0.0)), (-1.0, np.maximum(-wb, 0.0))):
            if sign < 0.0 and not part.any():
                continue
            scaled = np.sqrt(part)[:, None] * block  # float64; its transpose or itself is Fortran-ordered (no copy)
            if scaled.flags.f_contiguous:
                out = dsyrk(sign, scaled, beta=1.0, c=out, trans=1, overwrite_c=1)
            else:
                out = dsyrk(sign, scaled.T, beta=1.0, c=out, trans=0, overwrite_c=1)
    return np.triu(out) + np.triu(out, 1).T
