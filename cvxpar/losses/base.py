"""The loss contract every method consumes.

:class:`Loss` is what every smooth f(x) offers: ``n_features``, ``value(x)``, ``grad(x)``,
``lipschitz()`` (an upper estimate of the Lipschitz constant of grad f, or a local one where
there is none: the solvers backtrack), and for the active-set polish ``hvp(x, d)``,
``hessian_factor(x, idx)`` / ``hessian_block(x, idx)`` (None where the loss cannot give them),
and for duality gaps ``dual_gap_parts(x)`` / ``conjugate(w)`` (None where no conjugate is known).

:class:`LinearModelLoss` is f(x) = sum_i h_i(a_i^T x) with h_i convex (the target enters h_i),
the family of least squares, logistic regression, Huber, Poisson and the squared hinge.  A
subclass is written against five elementwise functions of z = A x and one constant:

``h(z)``
    per-sample values h_i(z_i); the loss is their sum;
``dh(z)``, ``d2h(z)``
    per-sample first and second derivatives (a generalized second derivative, an element of
    Clarke's generalized Jacobian of dh, where h is C^1 only: Huber, squared hinge);
``smoothness``
    a class attribute: sup_z d2h(z), or None when d2h is unbounded (Poisson);
``piecewise_quadratic`` (optional, default False)
    a class attribute: True when every h_i is piecewise quadratic (least squares, Huber, squared
    hinge), so its second-order model is exact on each piece;
``d2h_majorant(z)`` (optional)
    per-sample curvatures c_i(z_i) >= h_i'' whose quadratic h_i(z_i) + h_i'(z_i) s + c_i s^2 / 2 lies above
    h_i(z_i + s) for every s (a quadratic majorizer: a model step on it always decreases f);
``conj(w)`` (optional)
    sum_i h_i^*(w_i), +inf outside the domain of the conjugate: enables duality gaps;
``cvxpy(z)`` (optional)
    a CVXPY expression of sum_i h_i(z_i): what ``cvxpar.reference`` and the tests solve;
``dh_dtarget(z)`` (optional)
    per-sample d h_i'(z_i) / d t_i: derivatives of a solution with respect to the target;
``validate_target(target)`` (optional)
    raise ValueError for a target the loss cannot take (labels outside {-1, +1}, ...);
``recession_slopes()`` (optional)
    the limits h_i'(-inf) and h_i'(+inf) (possibly infinite): the slopes of h_i's recession function,
    which let ``cvxpar.solve`` prove a problem unbounded below before iterating (:mod:`cvxpar.recession`).

From these the base class derives everything the methods need (skglm's datafit contract, Bertrand
et al. 2022, where a datafit hands the solver ``raw_grad``, ``raw_hessian`` and per-coordinate
Lipschitz constants):

- value f(x) = sum h(Ax), gradient A^T dh(Ax), both also from a kept z = Ax (``value_z``,
  ``grad_z``: an accelerated step then costs one product with A and one with A^T);
- ``lipschitz()`` = smoothness * ||A||_2^2 (||A||_2 by power iteration), and the per-coordinate
  constants ``coordinate_lipschitz()`` = smoothness * ||a_j||^2 for coordinate descent;
- the generalized Hessian A^T diag(d2h(Ax)) A as a product (``hvp``), a factor
  diag(sqrt d2h) A_F (``hessian_factor``) or a dense block (``hessian_block``);
- the Fenchel dual point w = dh(Ax) of f(x) + g(x), whose dual value is -f^*(w) - g^*(-A^T w)
  (Rockafellar 1970, Thm 31.2), through ``dual_gap_parts`` and ``conjugate``.

Everything a user holds pickles and deep-copies: no module is stored on an instance (the array
namespace is recovered from the data when needed).
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Union

import numpy as np
import numpy.typing as npt

from cvxpar import _backend
from cvxpar.losses._operator import Operator, index_like
from cvxpar.losses.dask_operator import is_dask_array

if TYPE_CHECKING:
    from scipy.sparse import sparray, spmatrix
    from scipy.sparse.linalg import LinearOperator

#: A design matrix: dense (NumPy, CuPy or any Array-API array), scipy.sparse, a LinearOperator or a Dask array.
Design = Union[npt.ArrayLike, "sparray", "spmatrix", "LinearOperator"]


class Loss:
    """A smooth loss f(x): the common base of :class:`LinearModelLoss` and ``Smooth``.

    Subclasses define ``n_features``, ``value(x)``, ``grad(x)`` and ``lipschitz()``; the second-order
    and duality hooks below return None unless a subclass can give them.

    Raises
    ------
    NotImplementedError
        From ``value``, ``grad`` or ``lipschitz`` of a subclass that does not define them.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.losses import LeastSquares, Loss, Smooth
    >>> isinstance(LeastSquares(np.eye(2), np.ones(2)), Loss)
    True
    >>> f = Smooth(lambda x: float(x @ x) / 2, lambda x: x, lipschitz=1.0, n_features=2)
    >>> isinstance(f, Loss), f.value(np.array([3.0, 4.0]))
    (True, 12.5)
    """

    n_features: int | None = None

    def value(self, x) -> float:
        """The loss value f(x).

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        float
        """
        raise NotImplementedError

    def grad(self, x):
        """The gradient of f at x.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        array of shape (n_features,)
            In x's namespace.
        """
        raise NotImplementedError

    def lipschitz(self) -> float:
        """An upper estimate of the Lipschitz constant of grad f (or a local one: the solvers backtrack).

        Returns
        -------
        float
        """
        raise NotImplementedError

    def hvp(self, x, d):
        """Hessian-vector product nabla^2 f(x) d, or None where the loss cannot give it.

        Parameters
        ----------
        x, d : arrays of shape (n_features,)

        Returns
        -------
        array of shape (n_features,) or None
        """
        return None

    def hessian_factor(self, x, idx):
        """A dense B with B^T B the Hessian block on ``idx``, or None.

        Parameters
        ----------
        x : array of shape (n_features,)
        idx : integer array
            The coordinates of the block.

        Returns
        -------
        array of shape (n_samples, len(idx)) or None
        """
        return None

    def hessian_block(self, x, idx):
        """The dense Hessian block on ``idx``, or None.

        Parameters
        ----------
        x : array of shape (n_features,)
        idx : integer array
            The coordinates of the block.

        Returns
        -------
        array of shape (len(idx), len(idx)) or None
        """
        return None

    def gradient_rounding(self, x) -> tuple[float, object]:
        """(bound, estimate): the floating-point error expected in ``grad(x)``, for the certificate.

        ``bound`` is a cheap upper bound on max_i e_i, ``estimate()`` a callable returning the estimate e
        itself, one entry per coordinate (it may cost passes over the data).  A loss that knows nothing of
        how its gradient is computed (``Smooth``, a user's function) returns ``(0.0, None)``: its gradient
        is taken as exact.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        tuple (float, callable or None)
        """
        return 0.0, None

    def accurate_gradient(self, x):
        """(g, err): grad f(x) evaluated more accurately than ``grad(x)``, with |g - grad f(x)| <= err entrywise in
        exact arithmetic, for the certificate; None where the loss cannot give it (the default).

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        tuple of two numpy.ndarray of shape (n_features,), or None
        """
        return None

    def dual_gap_parts(self, x):
        """(w, alpha, A^T w) for a duality gap (see :class:`LinearModelLoss`), or None.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        tuple or None
        """
        return None


def _vector(xp, v, n: int, name: str, like):
    if _backend.is_numpy_namespace(xp):
        try:  # complex, string or object targets are refused, not cast (a cast would drop the imaginary part)
            arr = _backend._real_numpy(np.asarray(v)).astype(np.float64, copy=False)
        except TypeError as exc:
            raise TypeError(f"{name} must hold real numbers: {exc}") from None
    else:
        arr = xp.asarray(v, dtype=like.dtype, device=_backend.device(like)) if not hasattr(v, "__array_namespace__") else v
        if not xp.isdtype(arr.dtype, "real floating"):
            arr = xp.astype(arr, xp.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be a vector of length n_samples = {n}; got shape {tuple(arr.shape)}.")
    if not bool(xp.all(xp.isfinite(arr))):
        raise ValueError(f"{name} contains NaN or inf entries; clean the data before solving.")
    return arr


class LinearModelLoss(Loss):
    """f(x) = sum_i h_i(a_i^T x): subclass it and define ``h``, ``dh``, ``d2h`` and ``smoothness``.

    Parameters
    ----------
    A : array of shape (n_samples, n_features)
        Dense (any Array-API namespace), ``scipy.sparse``, a ``scipy.sparse.linalg.LinearOperator``
        or a row-chunked Dask array (:mod:`cvxpar.losses.dask_operator`; ``cvxpar.solve`` then runs
        on the active Dask scheduler, :mod:`cvxpar.distributed`).
    target : array of shape (n_samples,)
        The target (responses, labels, counts), kept as ``self.target`` (a Dask vector chunked like
        A's rows when A is a Dask array).

    See the module docstring for the contract; ``op`` (the data operator), ``target``,
    ``n_samples`` and ``n_features`` are public attributes.

    A subclass defines ``h(z)``, ``dh(z)``, ``d2h(z)`` (elementwise in z = A x, using
    ``self.target``) and the class attribute ``smoothness`` (sup of d2h, or None); optionally
    ``conj(w)`` (enables duality gaps), ``cvxpy(z)`` (enables :func:`cvxpar.reference`) and
    ``validate_target(target)``.  Value, gradient A^T dh(Ax), Lipschitz constants, the generalized
    Hessian for the polish and the dual point are derived from them.

    Raises
    ------
    ValueError
        ``target`` of the wrong length, NaN or inf entries in A or the target, or a target that
        ``validate_target`` refuses.
    NotImplementedError
        When a method needs ``h``, ``dh`` or ``d2h`` and the subclass does not define it.

    Examples
    --------
    A user-defined loss: the squared hinge h_i(z) = max(0, 1 - y_i z)^2 / 2 of an L2-SVM, whose
    second derivative is at most 1.

    >>> import numpy as np, cvxpar
    >>> class SquaredHinge(cvxpar.losses.LinearModelLoss):
    ...     smoothness = 1.0
    ...     target_name = "y"
    ...     def h(self, z):
    ...         return 0.5 * np.maximum(0.0, 1.0 - self.target * z) ** 2
    ...     def dh(self, z):
    ...         return -self.target * np.maximum(0.0, 1.0 - self.target * z)
    ...     def d2h(self, z):
    ...         return (self.target * z < 1.0).astype(float)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 4))
    >>> y = np.sign(X @ np.array([1.0, -1.0, 0.0, 0.0]))
    >>> loss = SquaredHinge(X, y)
    >>> res = cvxpar.solve(loss, cvxpar.pars.l1(cvxpar.grids.uniform(1.0, 2)), 1.0)
    >>> res.status, np.round(res.x, 1), res.gap is None      # no conj: no duality gap
    ('optimal', array([ 1.3, -1.3,  0. ,  0. ]), True)
    """

    #: sup of d2h (a float), or None when d2h is unbounded; every subclass sets it.
    smoothness: float | None = None
    #: True when every h_i is piecewise quadratic (its second-order model is exact on each piece).
    piecewise_quadratic: bool = False
    #: How the target is called in error messages.
    target_name = "target"

    def __init__(self, A: Design, target: npt.ArrayLike) -> None:
        if is_dask_array(A) or is_dask_array(target):
            from cvxpar.losses.dask_operator import DaskOperator

            self.op = DaskOperator(A)
            n, d = self.op.shape
            self.target = self.op.target(target, self.target_name)
        else:
            self.op = Operator(A)
            n, d = self.op.shape
            self.target = _vector(self.op.xp, target, n, self.target_name, self.op.like())
        self.validate_target(self.target)
        self.n_samples, self.n_features = n, d
        self._norm2: float | None = None
        self._L: float | None = None

    # -- the contract (subclasses override)
    def validate_target(self, target) -> None:
        """Raise ValueError when the loss cannot take ``target``; every target is accepted by default.

        Parameters
        ----------
        target : array of shape (n_samples,)

        Raises
        ------
        ValueError
            A target outside the loss's domain (a subclass decides: Logistic refuses labels other than -1, +1).
        """

    def h(self, z):
        """Per-sample values h_i(z_i); the loss is their sum.

        Parameters
        ----------
        z : array of shape (n_samples,)
            The linear predictions z = A x, in the data's namespace.

        Returns
        -------
        array of shape (n_samples,)
        """
        raise NotImplementedError(f"{type(self).__name__} must define h(z)")

    def dh(self, z):
        """Per-sample derivatives h_i'(z_i).

        Parameters
        ----------
        z : array of shape (n_samples,)
            The linear predictions z = A x, in the data's namespace.

        Returns
        -------
        array of shape (n_samples,)
        """
        raise NotImplementedError(f"{type(self).__name__} must define dh(z)")

    def d2h(self, z):
        """Per-sample (generalized) second derivatives h_i''(z_i).

        Parameters
        ----------
        z : array of shape (n_samples,)
            The linear predictions z = A x, in the data's namespace.

        Returns
        -------
        array of shape (n_samples,)
        """
        raise NotImplementedError(f"{type(self).__name__} must define d2h(z)")

    def d2h_majorant(self, z):
        """Per-sample curvatures of a quadratic majorizer of h_i at z_i (module docstring), or None where
        the loss gives none (the default).

        Parameters
        ----------
        z : array of shape (n_samples,)

        Returns
        -------
        array of shape (n_samples,) or None
        """
        return None

    def dh_dtarget(self, z):
        """Per-sample derivatives of h_i'(z_i) with respect to the target t_i (optional).

        Enables derivatives of a solution with respect to the target (:mod:`cvxpar.derivatives`).

        Parameters
        ----------
        z : array of shape (n_samples,)
            The linear predictions z = A x, in the data's namespace.

        Returns
        -------
        array of shape (n_samples,)

        Raises
        ------
        NotImplementedError
            The loss does not define it.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no dh_dtarget(z)")

    def conj(self, w):
        """sum_i h_i^*(w_i), +inf outside the conjugate's domain (optional: enables duality gaps).

        Parameters
        ----------
        w : array of shape (n_samples,)
            The dual point.

        Returns
        -------
        float

        Raises
        ------
        NotImplementedError
            The loss does not define it.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no conj(w), so it has no duality gap")

    def recession_slopes(self):
        """The slopes (h_i'(-inf), h_i'(+inf)) of each h_i's recession function (optional).

        The recession function of a convex h is h_inf(w) = lim_{t -> inf} (h(z + t w) - h(z)) / t
        (Rockafellar 1970, Convex Analysis, Thm. 8.5): h'(+inf) w for w > 0 and h'(-inf) w for w < 0.
        :mod:`cvxpar.recession` uses it to decide whether the problem is bounded below; define it only
        when h_i - h_i,inf is bounded below or h_i is quadratic (then that decision is exact).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray) or None
            Two float64 arrays of length n_samples (entries may be -inf / +inf), or None when the loss
            does not say (the default: no unboundedness test runs).
        """
        return None

    def huber_thresholds(self):
        """The thresholds M_i when every h_i is a Huber function h_i(z) = min_v (z - b_i - v)^2 / 2 + M_i |v|
        (optional).

        Huber's function of threshold M is the Moreau envelope of M |.| (Beck 2017, First-Order Methods in
        Optimization, sec. 6.7): h_i(z) = (z - b_i)^2 / 2 where |z - b_i| <= M_i, M_i |z - b_i| - M_i^2 / 2
        elsewhere; M_i = inf is the squared sample (z - b_i)^2 / 2.  A loss that defines it is solved by
        :mod:`cvxpar.solvers.ssnal` as least squares in (x, v) with the l1 term sum_i M_i |v_i| (its exact
        proximal-point route), so define it only when that identity holds exactly, with ``target`` as b.

        Returns
        -------
        numpy.ndarray or None
            A float64 array of length n_samples (entries in (0, inf]), or None when h is not of that form
            (the default).
        """
        return None

    def cvxpy(self, z):
        """A CVXPY expression of sum_i h_i(z_i) (optional: enables CVXPY references).

        Parameters
        ----------
        z : cvxpy.Expression of shape (n_samples,)

        Returns
        -------
        cvxpy.Expression
            A scalar convex expression.

        Raises
        ------
        NotImplementedError
            The loss does not define it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} defines no cvxpy(z): give it a CVXPY form to use cvxpar.reference"
        )

    @property
    def has_conj(self) -> bool:
        """True when the subclass defines :meth:`conj` (duality gaps are available)."""
        return type(self).conj is not LinearModelLoss.conj

    @property
    def has_cvxpy(self) -> bool:
        """True when the subclass defines :meth:`cvxpy` (:func:`cvxpar.reference` accepts the loss)."""
        return type(self).cvxpy is not LinearModelLoss.cvxpy

    # -- data
    @property
    def xp(self):
        """The array namespace of the data."""
        return self.op.xp

    @property
    def dtype(self):
        """The dtype of the data A."""
        return self.op.dtype

    def subsample(self, rows) -> LinearModelLoss:
        """The same loss on the rows ``rows`` of A and the target (sum over those samples only).

        Parameters
        ----------
        rows : integer array
            Sample indices.

        Returns
        -------
        LinearModelLoss
        """
        sub = copy.copy(self)
        sub.op = self.op.rows(rows)
        sub.target = self.xp.take(self.target, index_like(self.xp, rows, self.target), axis=0)
        sub.n_samples = sub.op.shape[0]
        sub._norm2 = sub._L = None
        return sub

    # -- values and gradients (z = Ax may be passed in to save a product with A)
    def linear(self, x):
        """z = A x.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        array of shape (n_samples,)
        """
        return self.op.mv(x)

    def value_z(self, z) -> float:
        """f from a kept z = A x: sum_i h_i(z_i).

        Parameters
        ----------
        z : array of shape (n_samples,)
            The linear predictions z = A x, in the data's namespace.

        Returns
        -------
        float
        """
        return float(self.xp.sum(self.h(z)))

    def grad_z(self, z):
        """grad f from a kept z = A x: A^T dh(z).

        Parameters
        ----------
        z : array of shape (n_samples,)
            The linear predictions z = A x, in the data's namespace.

        Returns
        -------
        array of shape (n_features,)
        """
        return self.op.rmv(self.dh(z))

    def value(self, x) -> float:
        """f(x) = sum_i h_i(a_i^T x).

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        float
        """
        return self.value_z(self.linear(x))

    def grad(self, x):
        """grad f(x) = A^T dh(A x).

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        array of shape (n_features,)
        """
        return self.grad_z(self.linear(x))

    def gradient_rounding(self, x) -> tuple[float, object]:
        """(bound, estimate) of the rounding error in the computed ``grad(x) = A^T dh(A x)``.

        The estimate e (one entry per coordinate) is the first-order componentwise error of the two products
        (Higham 2002, *Accuracy and Stability of Numerical Algorithms*, sec. 3.5, one unit roundoff
        eps of the precision the products run in, that of A's and x's dtypes promoted, per product; the probabilistic error of Higham & Mary 2019 is of this order):

            delta = eps (2 |A||x| + |t|),   e = eps |A|^T ( c (2 |A||x| + |t|) + |dh(Ax)| ),

        since z = Ax is computed within eps |A||x| and the subtraction of the target t adds eps (|z| + |t|)
        (delta bounds both), and dh moves by at most c_j delta_j with c_j = max |d2h| over
        [z_j - delta_j, z_j + delta_j] (its ends and middle: d2h is piecewise constant or smooth for every
        built-in loss); the product with A^T adds eps |A|^T |dh|.  ``bound`` is a Cauchy-Schwarz upper
        bound, eps max_j ||a_j||_2 ||w||_2 with ||w||_2 <= s (3 ||A||_F ||x||_2 + ||t||_2) + ||dh(0)||_2
        (s = ``smoothness``, the sup of d2h, and |dh(Ax)| <= |dh(0)| + s |A||x|), from two numbers of A
        computed once and cached; ``estimate()`` costs three passes over A (dense data in row blocks).  Data of a Dask
        array or a LinearOperator give (0.0, None) (each pass over them is costly): their gradient is
        taken as exact.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        tuple (float, callable or None)
        """
        constants = getattr(self.op, "rounding_constants", lambda: None)()
        if constants is None:
            return 0.0, None
        col_max, fro = constants
        xp = self.xp
        eps = float(xp.finfo(xp.result_type(self.dtype, x.dtype)).eps)  # the precision the products run in
        t_abs = xp.abs(self.target)

        def estimate():
            reach = 2.0 * self.op.abs_mv(xp.abs(x)) + t_abs
            z = self.linear(x)
            delta = eps * reach
            curvature = xp.maximum(xp.maximum(xp.abs(self.d2h(z - delta)), xp.abs(self.d2h(z))),
                                   xp.abs(self.d2h(z + delta)))
            if self.smoothness is not None:
                curvature = xp.minimum(curvature, float(self.smoothness))
            w = curvature * reach + xp.abs(self.dh(z))
            return eps * self.op.abs_rmv(w)

        if self.smoothness is None:
            return math.inf, estimate
        s = float(self.smoothness)
        dh0 = xp.abs(self.dh(xp.zeros_like(self.target)))
        x_norm = float(xp.sqrt(xp.sum(x * x)))
        w_norm = (s * (3.0 * fro * x_norm + float(xp.sqrt(xp.sum(t_abs * t_abs))))
                  + float(xp.sqrt(xp.sum(dh0 * dh0))))
        return eps * col_max * w_norm, estimate

    def accurate_gradient(self, x):
        """(g, err): grad f(x) = A^T dh(A x) evaluated in doubled precision, with |g - grad f(x)| <= err entrywise.

        grad f(x) is the exact gradient of the data as given (A, the target and x as their floating-point
        values).  z = A x is kept as a double-double zh + zl (Dot2, :mod:`cvxpar.losses._accurate`), within
        ez = gamma_{d+2}^2 |A||x| of z; dh is linearized at zh,

            w = dh(zh) + d2h(zh) zl,
            |dh(z) - w| <= ew = 4 u (|dh(zh)| + |d2h(zh) zl|) + |d2h(zh)| ez + (|zl| + ez) osc,

        osc the oscillation of d2h over [zh - |zl| - ez, zh + |zl| + ez] (from its two ends and zh: exact for a
        d2h piecewise constant with one jump in the interval, or monotone on it; for every built-in loss), and
        dh evaluated within 4 units in the last place u = 2^-53 (one subtraction for least squares and Huber);
        then g = A^T w by Dot2 on the pair (dh(zh), d2h(zh) zl), rounded once:

            err = u |g| + gamma_{2n+2}^2 |A|^T (|dh(zh)| + |d2h(zh) zl|) + |A|^T ew,

        each sum of absolute values enlarged by its own rounding.  Where the ordinary gradient's error is
        eps |A|^T (|A||x| + |t| + |dh|), this one is about u |g| + 4 u |A|^T |dh|: the cancellation in A x - t
        no longer costs anything.  None for data other than host NumPy or scipy.sparse arrays (a
        LinearOperator, Dask, a GPU array): no such evaluation is available there.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        tuple of two numpy.ndarray of shape (n_features,), or None
        """
        from cvxpar.losses import _accurate

        if self.op.kind == "operator" or not _backend.is_numpy_namespace(self.xp):
            return None
        if not _backend.is_numpy_namespace(_backend.array_namespace(x)):
            return None
        n, d = self.op.shape
        u = _accurate.UNIT_ROUNDOFF
        x = np.asarray(x, dtype=np.float64)
        zero_d = np.zeros(d)
        zp, zs, abs_z, _ = _accurate.product(self.op.A, x, zero_d, zero_d, transpose=False)
        zh, zl = _accurate.two_sum(zp, zs)
        ez = 4.0 * _accurate.gamma(d + 2) ** 2 * abs_z
        wh = np.asarray(self.dh(zh), dtype=np.float64)
        curv = np.asarray(self.d2h(zh), dtype=np.float64)
        wl = curv * zl
        reach = np.abs(zl) + ez
        ends = (np.asarray(self.d2h(zh - reach), dtype=np.float64), np.asarray(self.d2h(zh + reach), dtype=np.float64))
        osc = np.maximum(np.maximum(ends[0], ends[1]), curv) - np.minimum(np.minimum(ends[0], ends[1]), curv)
        ew = 4.0 * u * (np.abs(wh) + np.abs(wl)) + np.abs(curv) * ez + reach * osc
        gp, gs, abs_w, abs_e = _accurate.product(self.op.A, wh, wl, ew, transpose=True)
        g = gp + gs
        slack = 1.0 + 2.0 * _accurate.gamma(2 * n + 2)
        err = u * np.abs(g) + slack * (4.0 * _accurate.gamma(2 * n + 2) ** 2 * abs_w + abs_e)
        return g, err * (1.0 + 4.0 * u)

    def norm2_squared(self) -> float:
        """||A||_2^2 (power iteration, padded), computed once.

        Returns
        -------
        float
        """
        if self._norm2 is None:
            self._norm2 = self.op.norm2_squared()
        return self._norm2

    def lipschitz(self) -> float:
        """smoothness * ||A||_2^2, an upper estimate of the Lipschitz constant of grad f.

        Where ``smoothness`` is None, the local value max_i d2h(0) * ||A||_2^2 at x = 0 (the
        solvers backtrack from it).

        Returns
        -------
        float
        """
        if self._L is None:
            if self.smoothness is not None:
                self._L = float(self.smoothness) * self.norm2_squared()
            else:
                z0 = self.xp.zeros((self.n_samples,), dtype=self.dtype)
                local = float(self.xp.max(self.d2h(z0)))
                self._L = (local if math.isfinite(local) and local > 0 else 1.0) * self.norm2_squared()
        return self._L

    def coordinate_lipschitz(self):
        """smoothness * ||a_j||^2 per coordinate (the coordinate-descent steps).

        Returns
        -------
        array of shape (n_features,) or None
            None when ``smoothness`` is None.
        """
        if self.smoothness is None:
            return None
        return float(self.smoothness) * self.op.column_sq_norms()

    # -- second order: the generalized Hessian A^T diag(d2h(Ax)) A
    def hvp(self, x, d):
        """The generalized Hessian-vector product A^T diag(d2h(Ax)) A d.

        Parameters
        ----------
        x, d : arrays of shape (n_features,)

        Returns
        -------
        array of shape (n_features,)
        """
        return self.op.rmv(self.d2h(self.linear(x)) * self.op.mv(d))

    def hessian_factor(self, x, idx):
        """B = diag(sqrt d2h(Ax)) A_F for the columns ``idx`` (dense n x k): the block is B^T B.

        Parameters
        ----------
        x : array of shape (n_features,)
        idx : integer array
            The columns F.

        Returns
        -------
        array of shape (n_samples, len(idx))
        """
        w = self.xp.sqrt(self.d2h(self.linear(x)))
        return w[:, None] * self.op.columns(idx)

    def hessian_block(self, x, idx):
        """A_F^T diag(d2h(Ax)) A_F for the columns ``idx``, dense.

        Parameters
        ----------
        x : array of shape (n_features,)
        idx : integer array
            The columns F.

        Returns
        -------
        array of shape (len(idx), len(idx))
        """
        B = self.hessian_factor(x, idx)
        return B.T @ B

    # -- duality: f(x) + g(x) has the dual D(w) = -f^*(w) - g^*(-A^T w), at w = dh(Ax)
    def dual_gap_parts(self, x):
        """(w, 1.0, A^T w) with w = dh(Ax), or None without ``conj``.

        w is in dom h^* (it is a subgradient of h); the certificate scales it by some alpha in
        (0, 1] to keep -A^T w in the domain of the penalty's conjugate, which stays in dom h^*
        when 0 is in it (h bounded below), and is reported as an infinite gap otherwise.

        Parameters
        ----------
        x : array of shape (n_features,)

        Returns
        -------
        tuple or None
        """
        if not self.has_conj:
            return None
        w = self.dh(self.linear(x))
        return w, 1.0, self.op.rmv(w)

    def conjugate(self, w) -> float:
        """sum_i h_i^*(w_i) as a float.

        Parameters
        ----------
        w : array of shape (n_samples,)

        Returns
        -------
        float
        """
        return float(self.conj(w))
