"""A PyTorch layer: the PAR-regularized solution as a differentiable function of its data.

``cvxpar.torch.solve(A, b, lam, breakpoints, values, left_slope, right_slope, loss="least_squares")`` returns

    x*(A, b, lam, q, v) = argmin_x  f(x; A, b) + sum_i lam_i psi(x_i),   psi = PAR(q, v, left_slope, right_slope)

with f the least-squares loss 1/2 ||A x - b||^2, the logistic loss sum_j log(1 + exp(-b_j a_j^T x)) or the
Huber loss of A x - b (``loss="least_squares"``, ``"logistic"``, ``"huber"``, or any
:class:`~cvxpar.losses.LinearModelLoss` subclass),

as a tensor whose backward pass is the exact derivative of the solution map on its active set
(:mod:`cvxpar.derivatives`: implicit differentiation of the reduced KKT system, as in OptNet, Amos &
Kolter 2017).  The solve itself runs in cvxpar on the host (tensors on a CUDA device are copied to
the host and the result copied back), one problem per batch entry.

torch is an optional dependency (``pip install cvxpar[torch]``); it is imported on first use.
"""

from __future__ import annotations

from typing import Any

from cvxpar.losses import Huber, LeastSquares, LinearModelLoss, Logistic


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - exercised only without torch
        raise ImportError("cvxpar.torch needs PyTorch: pip install 'cvxpar[torch]' (or pip install torch).") from err
    return torch


LOSSES = {"least_squares": LeastSquares, "logistic": Logistic, "huber": Huber}


def solve(A, b, lam, breakpoints, values, left_slope: float, right_slope: float, constraints=None, *,
          loss: str | type = "least_squares", loss_options: dict | None = None, **solve_options: Any):
    """The solution x* of the PAR-regularized problem, differentiable in every tensor input.

    Parameters
    ----------
    A : tensor of shape (n, d) or (B, n, d)
        The design; a leading dimension B solves B problems (the other inputs then broadcast).
    b : tensor of shape (n,) or (B, n)
        The target (labels in {-1, +1} for the logistic loss; the gradient with respect to them is that
        of the loss extended to real labels).
    lam : tensor of shape (), (d,), (B, 1) or (B, d)
        lam >= 0: one scalar or a per-coordinate vector, shared by the batch or given per problem
        (``(B, 1)`` for one scalar per problem).
    breakpoints, values : tensors of shape (m,) or (B, m)
        psi's breakpoints q_1 < ... < q_m and values psi(q_j).
    left_slope, right_slope : float
        psi's outer slopes, constants (not differentiated).
    constraints : optional
        Box / NonNeg / Simplex / Linear constraints, as for :func:`cvxpar.solve`.
    loss : {"least_squares", "logistic", "huber"} or a LinearModelLoss subclass
        The loss f(x) = sum_j h(a_j^T x; b_j).
    loss_options : dict, optional
        Keyword arguments of the loss's constructor (``{"M": 0.5}`` for Huber's threshold).
    **solve_options
        Passed to :func:`cvxpar.solve` (``tol``, ``method``, ...).

    Returns
    -------
    tensor of shape (d,) or (B, d)
        x*, with the dtype and device of A.  Its backward pass raises ValueError for a batch entry whose
        solve was not certified (status neither ``"optimal"`` nor ``"stationary"``).

    Raises
    ------
    ImportError
        PyTorch is not installed.
    ValueError
        A or lam of a shape not listed above; an unknown loss name; the errors of :func:`cvxpar.solve`
        (bad breakpoints, negative lam, ...).

    Examples
    --------
    >>> import torch
    >>> from cvxpar.torch import solve
    >>> A = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    >>> b = torch.tensor([1.0, 0.1, 1.1], dtype=torch.float64)
    >>> lam = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    >>> q, v = torch.tensor([0.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
    >>> x = solve(A, b, lam, q, v, -1.0, 1.0, tol=1e-12)     # psi = |x|: the Lasso
    >>> x.detach().numpy().round(6)
    array([0.8, 0. ])
    >>> x[0].backward()
    >>> round(lam.grad.item(), 6)
    -0.5
    """
    torch = _torch()
    loss_cls = _loss_class(loss)
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
                               (loss_cls, dict(loss_options or {}), solve_options))
    return x if batched else x[0]


def _loss_class(loss):
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)} or a LinearModelLoss subclass; got {loss!r}.")
        return LOSSES[loss]
    if isinstance(loss, type) and issubclass(loss, LinearModelLoss):
        return loss
    raise TypeError(f"loss must be one of {sorted(LOSSES)} or a LinearModelLoss subclass; got {loss!r}.")


_FUNCTION = None


def _function(torch):
    """The autograd.Function (defined on first use so that importing cvxpar does not import torch)."""
    global _FUNCTION
    if _FUNCTION is not None:
        return _FUNCTION
    import numpy as np

    import cvxpar
    from cvxpar.derivatives import KEYS

    class _Solve(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A, b, lam, q, v, left_slope, right_slope, constraints, setup):
            loss_cls, loss_options, options = setup
            host = [t.detach().cpu().numpy().astype(np.float64) for t in (A, b, lam, q, v)]
            results = []
            for k in range(A.shape[0]):
                lam_k = float(host[2][k, 0]) if host[2].shape[1] == 1 else host[2][k]
                psi = cvxpar.PAR(host[3][k], host[4][k], left_slope, right_slope)
                results.append(cvxpar.solve(loss_cls(host[0][k], host[1][k], **loss_options), psi, lam_k,
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
