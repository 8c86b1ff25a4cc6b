"""A PyTorch layer: the least-squares PAR solution as a differentiable function of its data.

``cvxpar.torch.solve(A, b, lam, breakpoints, values, left_slope, right_slope)`` returns

    x*(A, b, lam, q, v) = argmin_x  1/2 ||A x - b||^2 + sum_i lam_i psi(x_i),   psi = PAR(q, v, left_slope, right_slope)

as a tensor whose backward pass is the exact derivative of the solution map on its active set
(:mod:`cvxpar.derivatives`: implicit differentiation of the reduced KKT system, as in OptNet, Amos &
Kolter 2017).  The solve itself runs in cvxpar on the host (tensors on a CUDA device are copied to
the host and the result copied back), one problem per batch entry.

torch is an optional dependency (``pip install cvxpar[torch]``); it is imported on first use.
"""

from __future__ import annotations

from typing import Any


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - exercised only without torch
        raise ImportError("cvxpar.torch needs PyTorch: pip install 'cvxpar[torch]' (or pip install torch).") from err
    return torch


def solve(A, b, lam, breakpoints, values, left_slope: float, right_slope: float, constraints=None,
          **solve_options: Any):
    """The solution x* of the least-squares PAR problem, differentiable in every tensor input.

    Parameters
    ----------
    A : tensor of shape (n, d) or (B, n, d)
        The design; a leading dimension B solves B problems (the other inputs then broadcast).
    b : tensor of shape (n,) or (B, n)
        The target.
    lam : tensor of shape (), (d,), (B, 1) or (B, d)
        lam >= 0: one scalar or a per-coordinate vector, shared by the batch or given per problem
        (``(B, 1)`` for one scalar per problem).
    breakpoints, values : tensors of shape (m,) or (B, m)
        psi's breakpoints q_1 < ... < q_m and values psi(q_j).
    left_slope, right_slope : float
        psi's outer slopes, constants (not differentiated).
    constraints : optional
        Box / NonNeg / Simplex / Linear constraints, as for :func:`cvxpar.solve`.
    **solve_options
        Passed to :func:`cvxpar.solve` (``tol``, ``method``, ...).

    Returns
    -------
    tensor of shape (d,) or (B, d)
        x*, with the dtype and device of A.  Its backward pass raises ValueError for a batch entry whose
        solve was not certified (status neither ``"optimal"`` nor ``"stationary"``).
    """
    torch = _torch()
    batched = A.ndim == 3
    if A.ndim not in (2, 3):
        raise ValueError(f"A must have shape (n, d) or (B, n, d); got {tuple(A.shape)}.")
    B = A.shape[0] if batched else 1
    n, d = A.shape[-2], A.shape[-1]
    tensors = [torch.as_tensor(t, dtype=A.dtype, device=A.device) for t in (b, lam, breakpoints, values)]
    b, lam, q, v = tensors
    per_problem_lam = lam.ndim == 2
    if lam.ndim > 2 or (lam.ndim == 1 and lam.shape[0] != d) or (per_problem_lam and lam.shape[1] not in (1, d)):
        raise ValueError(f"lam must have shape (), (d,) = ({d},), (B, 1) or (B, d); got {tuple(lam.shape)}.")
    m = q.shape[-1]
    lam_cols = lam.shape[1] if per_problem_lam else (d if lam.ndim == 1 else 1)
    Ab = A.expand(B, n, d)
    bb = b.expand(B, n)
    lamb = lam.reshape(-1, lam_cols).expand(B, lam_cols) if not per_problem_lam else lam.expand(B, lam_cols)
    qb, vb = q.expand(B, m), v.expand(B, m)
    x = _function(torch).apply(Ab, bb, lamb, qb, vb, float(left_slope), float(right_slope), constraints,
                               solve_options)
    return x if batched else x[0]


_FUNCTION = None


def _function(torch):
    """The autograd.Function (defined on first use so that importing cvxpar does not import torch)."""
    global _FUNCTION
    if _FUNCTION is not None:
        return _FUNCTION
    import numpy as np

    import cvxpar
    from cvxpar.derivatives import KEYS
    from cvxpar.losses import LeastSquares

    class _Solve(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A, b, lam, q, v, left_slope, right_slope, constraints, options):
            host = [t.detach().cpu().numpy().astype(np.float64) for t in (A, b, lam, q, v)]
            results = []
            for k in range(A.shape[0]):
                lam_k = float(host[2][k, 0]) if host[2].shape[1] == 1 else host[2][k]
                psi = cvxpar.PAR(host[3][k], host[4][k], left_slope, right_slope)
                results.append(cvxpar.solve(LeastSquares(host[0][k], host[1][k]), psi, lam_k,
                                            constraints=constraints, **options))
            ctx.results = results
            ctx.like = A
            x = np.stack([np.asarray(r.x, dtype=np.float64) for r in results])
            return torch.as_tensor(x, dtype=A.dtype, device=A.device)

        @staticmethod
        def backward(ctx, grad_x):
            wanted = [key for key, need in zip(KEYS, ctx.needs_input_grad[: len(KEYS)], strict=True) if need]
            if not wanted:
                return (None,) * 9
            g = grad_x.detach().cpu().numpy().astype(np.float64)
            grads = [res.vjp(g[k], wrt=wanted) for k, res in enumerate(ctx.results)]
            like = ctx.like

            def stacked(key):
                if key not in wanted:
                    return None
                arr = np.stack([np.reshape(np.asarray(gr[key], dtype=np.float64), -1 if key == "lam" else
                                           np.shape(gr[key])) for gr in grads])
                return torch.as_tensor(arr, dtype=like.dtype, device=like.device)

            return (stacked("A"), stacked("b"), stacked("lam"), stacked("breakpoints"), stacked("values"),
                    None, None, None, None)

    _FUNCTION = _Solve
    return _FUNCTION
