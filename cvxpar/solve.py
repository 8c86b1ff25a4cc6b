"""``cvxpar.solve``: the front door of the proximal solver family.

    minimize  loss(x) + sum_i lam_i psi(x_i)   subject to  x in C

Methods (``method=``): ``"pg"`` (proximal gradient), ``"fista"`` (accelerated, adaptive restart),
``"cd"`` (coordinate descent with working sets, any :class:`~cvxpar.losses.LinearModelLoss` on
NumPy / scipy.sparse data), ``"ssnal"`` (semismooth Newton augmented Lagrangian, any
LinearModelLoss with a convex psi: the fast method when the free block of A is nearly square),
``"ssn"`` (dense semismooth Newton on the full Hessian, globalized on the forward-backward envelope: small
problems with a convex psi and at most 8 linear rows, NumPy / LAPACK only),
``"alm"`` (augmented Lagrangian on Simplex and Linear rows, each subproblem by ssnal; convex psi),
``"admm"`` (cached factorization, adaptive rho; Simplex and Linear rows with any psi, least squares),
``"aprox"`` (stochastic, PARQ's aggregate prox; :mod:`cvxpar.solvers.aprox`) and ``"auto"``,
which picks one and says which (``res.method``, and the verbose header), by measured rules:

0. ``"ssn"`` for a small problem (d <= 200 and n_samples d^2 <= 600 x 200^2, or a dense A with d <= n_samples,
   d <= 500 and n_samples d^2 <= 1000 x 500^2: 2-7x faster than ``"ssnal"`` there, 20x on a tall Simplex-constrained
   least squares; ``benchmarks/RESULTS.md``, "breadth sweep, fresh instances (session 13)") with a convex psi, at most 8
   Simplex / Linear rows (3-5x faster than ``"alm"`` with 2-8 rows at d = 20-200, 4-16x on tall ones with 2-3 rows;
   "small problems with rows (session 13)"), NumPy data and a loss that gives its Hessian (every linear-model loss on a dense or scipy.sparse A,
   a ``Smooth`` loss with ``hessian=``): no compiled kernels to load, so a fresh process's first call costs what a
   later one does (``python benchmarks/run.py startup``); where it stops uncertified, the rules below continue
   from its point;
1. ``"alm"`` with (other) Simplex or Linear constraints and a convex psi (``"admm"`` with a nonconvex one);
2. ``"cd"`` for least squares with a psi of at most one breakpoint (the Lasso and its box-constrained
   variants) when A is wide (more features than samples; ``python benchmarks/run.py lasso``) or clearly
   tall (d <= n / 4, where A^T A is well conditioned and CD converges in a few dozen epochs: the tall
   Lasso 500 x 50 at lam_max/100 in 2 ms vs ``"ssnal"``'s 16 ms; ``python benchmarks/run.py breadth``),
   but ``"ssnal"`` for a wide dense one with d >= 5 n and lam <= lam_max / 300 (lam_max: the smallest multiple
   of lam at which x = 0 is optimal), whose solution has about n nonzeros, where coordinate descent crawls
   (100 x 1000 at lam_max/1000: 0.04 s against cd's 0.15 s before it hands over; ``benchmarks/RESULTS.md``,
   "medium-size classes (session 11)"); and ``"cd"`` for least squares with a convex psi on a wide
   scipy.sparse A with at most 0.5 % nonzero entries, where cd's epochs cost O(nnz) (7-level ridge
   1000 x 5000 and 2000 x 10000 at 0.1-0.5 %: 1.3-6x faster than ``"ssnal"``; ``benchmarks/breadth_sweep.py``);
3. ``"ssnal"`` for a piecewise-quadratic loss (``loss.piecewise_quadratic``: least squares, Huber)
   with a convex psi, whatever holds A (Huber 500 x 2000, 7 levels: 6.6x faster than ``"fista"``;
   ``python benchmarks/run.py glm_losses``), and for a :class:`~cvxpar.losses.Stacked` sum of losses with
   a least-squares or Huber part (least squares + logistic 200 x 2000, 7 levels: ssnal 0.6 s certified,
   cd 5000 epochs uncertified);
4. ``"cd"`` for the other linear-model losses on NumPy / scipy.sparse data (logistic 500 x 2000, 7
   levels: 1.7x faster than ``"fista"``, 4x faster than ``"ssnal"``) and for a nonconvex psi there
   (with scalar bounds and a loss of finite smoothness), except a convex psi on a dense A whose
   column norms span more than 100x, which goes to ``"ssnal"`` (its column-norm metric; logistic
   300 x 1000 with norms 1e-3..1e3: cd crawls through its 5000 epochs, ssnal certifies in 0.2 s;
   ``benchmarks/breadth_sweep.py``);
5. ``"fista"`` otherwise.

When ``"auto"`` runs ``"cd"`` with a convex psi and cd stops uncertified (its epochs on a working set
used their whole budget while its free set was larger than n_samples, where coordinate descent crawls:
the wide Lasso at lam_max/1000, and at lam_max/100 on some designs; or its iteration limit),
``"ssnal"`` continues from cd's point (``res.method`` is then ``"ssnal"`` and ``res.info["handoff"]``
records the cd run; ``python benchmarks/run.py lasso``).

Every deterministic method ends
with the same certificate (:mod:`cvxpar.certificate`): the status is ``"optimal"`` (convex) or
``"stationary"`` (nonconvex) only when the residual is within ``tol`` (the tolerance semantics
are in :mod:`cvxpar.certificate`), and the active-set polish (:mod:`cvxpar.solvers.polish`)
is what gets it there exactly.

Losses built on Dask arrays are solved on the active Dask scheduler and return ``res.x`` as NumPy
(:mod:`cvxpar.distributed.solve` says which method runs there, and how).
"""

from __future__ import annotations

import importlib
import math
import numbers
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cvxpar import recession
from cvxpar import result as R
from cvxpar._validation import check_tol
from cvxpar.constraints import Box
from cvxpar.losses import LinearModelLoss
from cvxpar.solvers import _metric, alm, ssn, starts
from cvxpar.solvers._common import Monitor, finish, infeasible_result, unbounded_result, with_verdict
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.options import for_method as options_for

if TYPE_CHECKING:
    from cvxpar.constraints.base import Constraint
    from cvxpar.losses.base import Loss
    from cvxpar.par import PAR

METHODS = ("auto", "pg", "fista", "cd", "ssnal", "ssn", "alm", "admm", "aprox")
#: auto runs cd on wide least squares over a scipy.sparse A with at most this fraction of nonzero entries
#: (``_nearly_empty_columns``).
SPARSE_CD_DENSITY = 0.005
DEFAULT_MAX_ITER = {"pg": 50_000, "fista": 20_000, "cd": 5_000, "ssnal": 200, "ssn": 200, "alm": 50, "admm": 20_000}
#: The methods that take linear rows (Simplex, Linear).
ROW_METHODS = ("alm", "admm")
#: auto sends a wide Lasso-like least-squares problem to ssnal instead of cd when d >= SATURATED_WIDTH n_samples
#: and lam <= lam_max / SATURATED_LAM (``_saturated``).
SATURATED_WIDTH = 5
SATURATED_LAM = 300.0


def solve(
    loss: Loss,
    psi: PAR,
    lam: float | npt.ArrayLike,
    constraints: Constraint | Sequence[Constraint] | None = None,
    method: str = "auto",
    x0: npt.ArrayLike | None = None,
    tol: float = 1e-8,
    max_iter: int | None = None,
    polish: bool = True,
    verbose: bool = False,
    n_starts: int | None = None,
    **options: Any,
) -> R.SolveResult:
    """Solve  minimize loss(x) + sum_i lam_i psi(x_i)  subject to  x in C.

    Parameters
    ----------
    loss : a loss of :mod:`cvxpar.losses`
        The smooth part f(x): :class:`~cvxpar.losses.LeastSquares`, :class:`~cvxpar.losses.Logistic`,
        :class:`~cvxpar.losses.Huber`, a user subclass of :class:`~cvxpar.losses.LinearModelLoss`, or
        :class:`~cvxpar.losses.Smooth` (callables).  Its data fixes the array namespace (NumPy, CuPy,
        PyTorch, ...) and device of the result.
    psi : cvxpar.PAR
        The piecewise-affine regularizer applied to every coordinate (:mod:`cvxpar.pars` builds the
        usual ones); convex or not.
    lam : float or sequence of d floats
        Nonnegative weights, one for all coordinates or one per coordinate.
    constraints : constraint, list of constraints or None, default None
        :class:`~cvxpar.constraints.Box`, :class:`~cvxpar.constraints.NonNeg`,
        :class:`~cvxpar.constraints.Simplex`, :class:`~cvxpar.constraints.Linear`; C is their
        intersection.  Simplex and Linear rows need ``method="alm"`` (convex psi), ``"admm"``, ``"ssn"``
        (at most 8 rows, convex psi) or ``"auto"``.
    method : {"auto", "pg", "fista", "cd", "ssnal", "ssn", "alm", "admm", "aprox"}, default "auto"
        ``"pg"``: proximal gradient.  ``"fista"``: accelerated proximal gradient with adaptive
        restart.  ``"cd"``: working-set coordinate descent with the exact 1-D prox (any
        ``LinearModelLoss`` with a dense NumPy or scipy.sparse A: exact coordinate minimization for
        least squares, proximal-Newton epochs weighted by h'' for the others).  ``"ssnal"``:
        semismooth Newton augmented Lagrangian (any ``LinearModelLoss``, convex psi; its Newton
        system uses h'').  ``"ssn"``: semismooth Newton on the forward-backward residual with the dense d x d
        Hessian, globalized by a line search on the forward-backward envelope (convex psi, Box / NonNeg and at
        most 8 Simplex / Linear rows, NumPy data, a loss with a Hessian; :mod:`cvxpar.solvers.ssn`).
        ``"alm"``: augmented Lagrangian (method of multipliers) on the Simplex /
        Linear rows, each subproblem solved by ``"ssnal"`` (any ``LinearModelLoss``, convex psi).
        ``"admm"``: ADMM with a cached factorization and adaptive rho (a ``LeastSquares`` loss with
        a dense A; Simplex and Linear constraints with any psi).  ``"aprox"``: stochastic minibatch
        aggregate prox (:mod:`cvxpar.solvers.aprox`).  ``"auto"`` picks one, in this order:

        0. a small problem (d <= 200 and n_samples d^2 <= 600 x 200^2, or a dense A with d <= n_samples, d <= 500
           and n_samples d^2 <= 1000 x 500^2) with a convex psi, at most 8
           Simplex / Linear rows, NumPy data and a loss with a Hessian (any ``LinearModelLoss`` on a dense or scipy.sparse A, a
           ``Smooth`` loss given ``hessian=``): ``"ssn"``;
        1. (other) Simplex or Linear constraints: ``"alm"`` with a convex psi and a linear-model loss on
           NumPy / scipy.sparse data, else ``"admm"`` (which takes least squares on a dense A; other
           losses or formats with a nonconvex psi raise a ValueError);
        2. least squares on NumPy / scipy.sparse with a psi of at most one breakpoint (Lasso-like) and
           more features than samples, or at most a quarter as many: ``"cd"``, except ``"ssnal"`` on a dense A
           with d >= 5 n_samples and lam <= lam_max / 300 (lam_max the smallest multiple of lam at which x = 0
           is optimal: the solution then has about n_samples nonzeros); least squares with a convex
           psi on a wide scipy.sparse A with at most 0.5 % nonzero entries (``SPARSE_CD_DENSITY``): ``"cd"``;
        3. a piecewise-quadratic loss (``loss.piecewise_quadratic``: least squares, Huber) with a
           convex psi, whatever holds A (NumPy, scipy.sparse, a LinearOperator, CuPy or another
           Array-API namespace), or a ``Stacked`` sum of losses with a least-squares or Huber part:
           ``"ssnal"``;
        4. any other linear-model loss problem on NumPy / scipy.sparse data that ``"cd"`` takes
           (logistic and user losses with any psi; least squares and Huber with a nonconvex psi),
           i.e. unless psi is nonconvex with per-coordinate bounds or ``loss.smoothness`` is None:
           ``"cd"``, except with a convex psi on a dense A whose column norms span more than 100x:
           ``"ssnal"`` (in its column-norm metric, where coordinate descent crawls);
        5. otherwise (``Smooth`` losses; a non-piecewise-quadratic loss, or a nonconvex psi, on a
           LinearOperator or non-NumPy arrays; a nonconvex psi with per-coordinate bounds):
           ``"fista"``.

        An ``"ssn"`` pick that stops uncertified is continued from its point by the method rules 1-5 pick
        (``res.info["handoff"]`` records the ssn run).  A ``"cd"`` pick with a convex psi that stops uncertified (it crawls on a free set larger
        than n_samples, or reaches its iteration limit) is continued by ``"ssnal"`` from cd's point;
        ``res.info["handoff"]`` then records the cd run.

        These rules follow the measurements in ``benchmarks/RESULTS.md`` (lasso, solver_speed,
        glm_losses, breadth, startup).

        What was picked is in ``res.method`` (and, with ``verbose``, in the header with the reason).
    x0 : array of shape (d,) or None, default None
        Starting point (0 when None).  For a nonconvex psi a given ``x0`` is the only start unless
        ``n_starts`` is also given.
    tol : float, default 1e-8
        Finite and > 0.  The certificate's tolerance rule (:func:`cvxpar.certificate`): x is
        accepted when ``residual <= tol * max(1, ||grad loss(x)||_inf)`` and
        ``infeasibility <= tol * max(1, ||x||_inf)``.
    max_iter : int or None, default None
        Iteration limit, an integer >= 1 (an integral float such as ``1e4`` counts); None selects
        the method's default (pg 50000, fista 20000, cd 5000 outer steps, ssnal 200, alm 50 outer
        steps, admm 20000;
        aprox: ``epochs`` passes).
    polish : bool, default True
        End with the active-set polish (:mod:`cvxpar.solvers.polish`): Newton steps on the free
        coordinates with the others fixed on their breakpoints or bounds, accepted only when it
        lowers the certificate's residual; it is what makes the answer exact.
    verbose : bool, default False
        Print a header (problem, method, and the reason for an ``"auto"`` pick) and aligned rows
        (iteration, objective, residual, infeasibility, gap, quantized %, time, event): about one
        a second, at iterations that are powers of two, and at events such as the polish.
    n_starts : int or None, default None
        Nonconvex psi only: how many starts to run (default 2).  The starts are, in order, the
        solution of the convexified problem (psi replaced by its convex envelope, when it exists),
        ``x0`` or 0, then seeded random points over psi's grid range within the bounds.  Each start
        runs the chosen method to a certified point; a local search from the best point (exact
        coordinate moves, kick-and-repair moves between psi's pieces and 10 perturbation restarts
        per start, with Simplex / Linear rows on an exact penalty of the rows,
        :mod:`cvxpar.solvers.local_search`) gives one more start when it finds a lower point, and
        so do, for least squares with d <= 30, the closest point of psi's grid (a Schnorr-Euchner
        enumeration with a budget of 50,000 level entries per start, bounds only,
        :mod:`cvxpar.solvers.lattice`) and a branch and bound on convex envelopes with a
        budget of 500 nodes per start (:mod:`cvxpar.solvers.tree_search`; rows in a penalty
        relaxation; ``res.info["tree_search"]`` holds its proven lower bound on the global minimum
        and whether it closed the gap).  A point the searches find is first certified where it is
        (active-set Newton steps) before the method runs from it; starts identical to earlier ones
        are skipped (``res.info["skipped_starts"]``).  The best result is kept: a certified point
        before an uncertified one, then the lowest objective (:mod:`cvxpar.solvers.starts`;
        ``res.info["starts"]`` lists every run).
        Ignored for a convex psi.
    **options
        Method options, checked against :mod:`cvxpar.solvers.options` (print the table with
        ``print(cvxpar.solvers.options.table())``): pg/fista ``check_every``, ``polish_steps``,
        ``polish_scale``; alm ``sigma0``; admm ``check_every``, ``rho``; cd ``p0``, ``polish_steps``; ssnal
        ``sigma0``, ``polish_steps``; aprox ``batch_size``, ``epochs``, ``eta0``, ``power``,
        ``seed``, ``mapping``, ``anneal_start``, ``anneal_end``, ``steepness``,
        ``anneal_center``.  ``check_every`` (iterations between two stopping tests) is accepted by
        every method; under ``"auto"`` an option of another method than the one picked is ignored
        with a warning.

    Returns
    -------
    SolveResult
        ``x`` (in the namespace and on the device of the data), ``status``, ``objective``,
        ``residual``, ``gap``, ``quantization_rate``, ``iterations``, ``solve_time``, ``method``,
        ``message`` and ``info`` (:class:`cvxpar.result.SolveResult`).  Every deterministic method
        ends with the same certificate, and the status says what it shows:

        - ``"optimal"``: convex psi, certified to ``tol``;
        - ``"stationary"``: nonconvex psi, a certified (Clarke) critical point to ``tol``, not
          necessarily a global minimizer (:func:`cvxpar.reference` gives the global one);
        - ``"optimal_inaccurate"``: convex psi, the iteration limit was reached with the
          certificate within 1000 x ``tol`` (for ``"aprox"``: the last stochastic iterate
          certifies ``tol``);
        - ``"max_iter"``: stopped (iteration limit, or the method could make no more progress)
          without a certificate; ``message`` says how far off it is;
        - ``"infeasible"``: the constraints have no common point (x is NaN);
        - ``"unbounded"``: the objective is unbounded below, proven before any iteration by a
          direction v of the constraints' recession cone along which F decreases linearly (x is NaN,
          ``info["direction"]`` is v and ``message`` names its largest entries; the test is exact for
          least squares, Huber and logistic losses on NumPy / scipy.sparse data, and on LinearOperators
          and Dask arrays of up to ``2**22`` entries, :mod:`cvxpar.recession`).  Where it can give no verdict (e.g. a
          ``Smooth`` loss), ``info["recession"]`` says why, and so does ``message`` unless the status
          is ``"optimal"``, ``"stationary"`` or ``"infeasible"``;
        - ``"diverged"``: the iterates or the objective became non-finite.

    Raises
    ------
    ValueError
        An unknown ``method``; ``tol``, ``max_iter``, ``n_starts`` or ``lam`` out of range; an
        option value out of range; a method that does not apply to the problem (e.g. Simplex or
        Linear constraints with a method other than ``"alm"`` or ``"admm"``, ``"ssnal"`` with a nonconvex
        psi, ``"cd"`` on data other than dense NumPy or scipy.sparse); data with NaN or inf entries.
    TypeError
        An unknown option name (with the closest valid one), an option of another method, or an
        option of the wrong type.

    Notes
    -----
    What ``"auto"`` picks for each problem class, and why (``python benchmarks/run.py --size full
    breadth`` measures every class against CVXPY + Clarabel with one BLAS thread; the ratios below
    are its instances, 200 x 2000 unless stated, in ``benchmarks/RESULTS.md``):

    - **Small problems** (d <= 200, n_samples d^2 <= 600 x 200^2, or a dense A with d <= n_samples, d <= 500 and
      n_samples d^2 <= 1000 x 500^2; convex psi, at most 8 Simplex / Linear rows,
      NumPy data, a loss with a Hessian): ``"ssn"``, Newton steps on the dense d x d system (with the row: its
      KKT system, and the exact prox with the rows: 3-5x faster than ``"alm"`` with 2-8 rows at d = 20-200) in NumPy / LAPACK, so the first call in a
      fresh process loads no compiled kernels (numba's first load costs about a second) and no LP solver
      (``python benchmarks/run.py --size full startup``: logistic, Huber, least squares, with a Box, with a
      Simplex at d = 20 and 150, n = d / 3 and 3 d, against CVXPY + Clarabel's build + solve: 1.2-49x on the
      first call in a fresh process and 1.1-108x warm, in CPU time).
    - **Simplex or Linear rows, convex psi** (any linear-model loss on NumPy / scipy.sparse):
      ``"alm"``.  The rows go into an augmented Lagrangian whose subproblems ssnal solves by
      semismooth Newton, and the row polish (the KKT system of the free coordinates and the working
      rows) lands on the kinks and rows exactly, usually after one outer step.  Simplex with 11
      levels: 119x Clarabel, where ``"admm"`` needs 3675 iterations; five inequality rows: 24x
      (admm: 8175 iterations); a 4-bit grid with x >= 0 and a budget row: 23x; logistic 500 x 2000
      with a Simplex: 59x.  With a **nonconvex psi** (ssnal needs a convex one):
      ``"admm"``, for least squares on a dense A.
    - **Wide or clearly tall (d <= n / 4) least squares with a psi of at most one breakpoint** (the
      Lasso and its boxed variants): ``"cd"``, working-set coordinate descent: 3-6x faster than
      ``"ssnal"`` on wide problems where few coordinates are nonzero (``python benchmarks/run.py
      lasso``); on tall ones A^T A is well conditioned and a few dozen epochs certify (the tall
      Lasso 2000 x 200 at lam_max/100: 88x Clarabel).  Far down the path of a wide dense one (d >= 5 n,
      lam <= lam_max / 300) the solution has about n nonzeros and coordinate descent crawls on its nearly
      singular free block: ``"ssnal"`` (100 x 1000 at lam_max/1000: 0.04 s, where cd ran 0.1 s before
      handing over; on 100 wide Lasso instances from 50 x 500 to 100 x 10000 (d = 5 n to 100 n) at
      lam_max/300 to lam_max/3000, a median 2.5x faster than cd's route, up to 6.2x, 5 of them slower,
      down to 0.76x; at d = 3 n cd stays faster).
    - **Least squares with a convex psi on a wide scipy.sparse A with at most 0.5 % nonzeros** (columns
      of a few nonzeros): ``"cd"``, whose epochs cost O(nnz), 1.3-6x faster than ``"ssnal"`` there.
    - **Least squares or Huber with a convex psi** (dense, tall, correlated, scipy.sparse, a
      LinearOperator or another Array-API namespace such as PyTorch, a Box, any number of levels):
      ``"ssnal"``, whose Newton systems live on the free coordinates: 31-70x Clarabel at
      200 x 2000, 99x on a tall 5000 x 500 Box problem, 34x on a 1%-dense sparse 2000 x 20000,
      357x on Huber 500 x 2000; 3.5x at d = 10, where both take milliseconds.
    - **Logistic and the other linear-model losses** on NumPy / scipy.sparse data: ``"cd"``
      (proximal Newton coordinate epochs weighted by h''): over 500x Clarabel on logistic 500 x 2000
      (with or without a Box) and sparse logistic 2000 x 20000, 1.7x faster than ``"fista"`` and 4x
      faster than ``"ssnal"`` on logistic 500 x 2000.  A **nonconvex psi** with any linear-model loss
      on such data also goes to ``"cd"`` where it applies (scalar bounds, finite smoothness).  With a
      convex psi and a dense A whose **column norms spread over more than 100x** (badly scaled
      features): ``"ssnal"`` with its column-norm proximal metric (logistic 300 x 1000, norms
      1e-3..1e3, lam = 0.001 n: 0.2 s where cd ran 5000 epochs, 8.8 s, before handing over; at
      lam = 0.1 n 0.18 s against cd's 0.04 s, both certified, Clarabel 4 s).
    - **Everything else** (``Smooth`` losses; logistic and other non-piecewise-quadratic losses on a
      LinearOperator or non-NumPy arrays; a nonconvex psi there, or with per-coordinate bounds):
      ``"fista"``.  (``method="fista"`` asked for least squares on CuPy with a convex psi runs a
      fused CUDA tail, :mod:`cvxpar.solvers.fused_fista`.)

    See Also
    --------
    cvxpar.reference : the exact (global) solution through CVXPY or a MIP.
    cvxpar.certificate : the certificate behind the status, computed from x alone.
    cvxpar.batch.solve_batch : many problems sharing A at once.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 5))
    >>> b = A @ np.array([1.0, -1.0, 0.5, 0.0, 0.0]) + 0.01 * rng.standard_normal(20)
    >>> loss = cvxpar.losses.LeastSquares(A, b)
    >>> psi = cvxpar.pars.l1(cvxpar.grids.uniform(1.0, 2))    # convex, kinks at -0.5, 0, 0.5
    >>> res = cvxpar.solve(loss, psi, 0.1)
    >>> res.status, res.method
    ('optimal', 'ssn')
    >>> np.round(res.x, 1)
    array([ 1. , -1. ,  0.5,  0. ,  0. ])

    With a nonconvex psi the status is ``"stationary"`` and the best of the starts is kept:

    >>> saw = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    >>> res = cvxpar.solve(loss, saw, 0.5)
    >>> res.status, [label for label, status, objective in res.info["starts"]]
    ('stationary', ['convex envelope', 'zero'])
    >>> res.x
    array([ 1. , -1. ,  0.5,  0. ,  0. ])
    """
    on_dask = getattr(getattr(loss, "op", None), "kind", None) == "dask"
    if method not in METHODS and not (on_dask and method == "newton"):
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)} (and 'newton' on Dask "
                         "data).")
    check_tol(tol)
    _check_flag(polish, "polish")
    max_iter = _positive_int_or_none(max_iter, "max_iter")
    n_starts = _positive_int_or_none(n_starts, "n_starts")
    if isinstance(lam, (list, tuple)):
        lam = _lam_sequence(lam)
    if on_dask:
        from cvxpar.distributed import solve_distributed

        return solve_distributed(loss, psi, lam, constraints, method=method, x0=x0, tol=tol, max_iter=max_iter,
                                 polish=polish, verbose=verbose, n_starts=n_starts, **options)
    if method == "aprox":
        from cvxpar.solvers.aprox import solve_aprox

        return solve_aprox(loss, psi, lam, constraints=constraints, x0=x0, tol=float(tol), max_iter=max_iter,
                           verbose=verbose, **options_for("aprox", options, requested="aprox"))
    prob = Problem(loss, psi, lam, constraints, x0)
    _check_operator(prob.loss)
    chosen, why = pick(prob) if method == "auto" else (method, "")
    options = options_for(chosen, options, requested=method)
    if prob.infeasible is not None:
        return infeasible_result(prob, chosen)
    tested = time.perf_counter()
    verdict = recession.decide(prob.loss, prob.psi, prob.lam, prob.feasible)
    if verdict.ray is not None:
        return unbounded_result(prob, chosen, verdict.ray, time.perf_counter() - tested)
    if prob.feasible.has_rows and chosen not in ROW_METHODS and not (chosen == "ssn" and ssn.applies(prob)):
        raise ValueError(
            f"method {chosen!r} handles Box/NonNeg constraints only; Simplex and Linear constraints need method='alm' "
            "(convex psi) or 'admm' (or 'auto')."
        )
    if chosen == "alm" and not alm.applies(prob):
        raise ValueError(
            "method 'alm' needs a convex psi and a linear-model loss on a dense NumPy or scipy.sparse A; use 'admm' "
            "(least squares, any psi) or 'auto'."
        )
    if chosen == "admm" and prob.feasible.has_rows and not _admm_applicable(prob):
        kind = "/".join(sorted({type(c).__name__ for c in prob.feasible.items if not isinstance(c, Box)}))
        raise ValueError(
            "method 'admm', the method for Simplex and Linear constraints, needs a LeastSquares loss with a dense A: "
            f"{kind} constraints with a {type(prob.loss).__name__} loss{_operator_note(prob.loss)} are not supported. "
            "Use Box or NonNeg constraints with this loss, a dense least-squares loss with these constraints, or a convex "
            "psi (method 'alm' takes any linear-model loss with them)."
        )
    if chosen == "ssnal" and not _ssnal_applicable(prob):
        raise ValueError("method 'ssnal' needs a LinearModelLoss (f = sum h(Ax)) and a convex psi; use 'fista' (or 'auto').")
    if chosen == "cd" and not _cd_applicable(prob):
        raise ValueError(_cd_refusal(prob))
    if chosen == "ssn" and not ssn.applies(prob):
        raise ValueError("method 'ssn' needs a convex psi, at most 8 Simplex / Linear rows, NumPy data and a loss with "
                         "a Hessian (a LinearModelLoss on a dense or scipy.sparse A, or Smooth with hessian=); use "
                         "'fista', 'alm' with rows (or 'auto').")
    monitor = Monitor(verbose, chosen, prob, tol, note=f"method auto -> {chosen}: {why}" if why else "")
    module = importlib.import_module(f"cvxpar.solvers.{chosen}")

    # auto's cd hands a problem it cannot finish (a stall, or its iteration limit) to ssnal, from its point
    handoff = method == "auto" and chosen == "cd" and _ssnal_applicable(prob)

    def run(p):
        out = module.run(p, tol=float(tol), max_iter=max_iter or DEFAULT_MAX_ITER[chosen], polish=polish,
                         monitor=monitor, **options, **({"handoff": True} if handoff else {}))
        res = finish(p, out, tol, chosen, monitor)
        if handoff and res.status != R.OPTIMAL:
            return _continue_with_ssnal(p, res, tol, max_iter, polish, monitor, options)
        if method == "auto" and chosen == "ssn" and res.status != R.OPTIMAL:
            return _continue_after_ssn(p, res, tol, max_iter, polish, monitor)
        return res

    if prob.convex or (x0 is not None and n_starts is None):
        return with_verdict(run(prob), verdict)
    count = int(n_starts or starts.DEFAULT_STARTS)
    envelope = starts.convex_envelope(prob.kpsi if prob.lb is None else psi)
    env_x = None
    if envelope is not None and count > 1:
        env_x = solve(loss, envelope, lam, constraints=constraints, tol=tol, max_iter=max_iter).x
    points = starts.start_points(prob, count, env_x)
    return with_verdict(starts.best_of_starts(prob, run, points, sweep=True, tol=float(tol)), verdict)


def _continue_with_ssnal(prob, first: R.SolveResult, tol, max_iter, polish, monitor, options) -> R.SolveResult:
    """ssnal started at the point where cd stopped (``res.info["handoff"]`` records cd's run)."""
    from cvxpar.solvers import ssnal

    monitor.announce(f"cd stopped ({first.message}); ssnal continues from its point")
    kept = {k: v for k, v in options.items() if k == "polish_steps"}
    out = ssnal.run(prob.started_at(first.x), tol=float(tol), max_iter=max_iter or DEFAULT_MAX_ITER["ssnal"],
                    polish=polish, monitor=monitor, **kept)
    res = finish(prob, out, tol, "ssnal", monitor)
    res.info["handoff"] = {"from": "cd", "epochs": first.iterations, "status": first.status, "message": first.message}
    return res


def _continue_after_ssn(prob, first: R.SolveResult, tol, max_iter, polish, monitor) -> R.SolveResult:
    """The method of the rules for larger problems, started at the point where auto's ``"ssn"`` stopped
    uncertified, on the already validated problem (``res.info["handoff"]`` records the ssn run).  It runs as
    ``method=`` that method would from ``x0`` = ssn's point: its default options and iteration limit, and no
    further hand-off."""
    chosen = pick(prob, small=False)[0]
    monitor.announce(f"ssn stopped ({first.message}); {chosen} continues from its point")
    module = importlib.import_module(f"cvxpar.solvers.{chosen}")
    start = first.x if bool(np.all(np.isfinite(first.x))) else prob.x0  # a diverged ssn: from the start instead
    out = module.run(prob.started_at(start), tol=float(tol), max_iter=max_iter or DEFAULT_MAX_ITER[chosen],
                     polish=polish, monitor=monitor)
    res = finish(prob, out, tol, chosen, monitor)
    res.info["handoff"] = {"from": "ssn", "iterations": first.iterations, "status": first.status,
                           "message": first.message}
    return res


def _check_flag(value, name: str) -> None:
    """A True/False switch: a string such as "no" is truthy, so it would silently switch the feature on."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")


def _positive_int_or_none(value, name: str) -> int | None:
    """``value`` as an int >= 1 (an integral float such as 1e4 counts), or None."""
    if value is None:
        return None
    integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()
    )
    if isinstance(value, bool) or not integral or value < 1:
        raise ValueError(f"{name} must be a positive integer or None; got {value!r}.")
    return int(value)


def _check_operator(loss) -> None:
    """A LinearOperator that returns NaN or inf shows up first in the Lipschitz estimate (a power
    iteration on A^T A, computed once and cached for the methods): say so there."""
    op = getattr(loss, "op", None)
    if getattr(op, "kind", None) != "operator":
        return
    L = loss.lipschitz()
    if not math.isfinite(L):
        raise ValueError(
            f"the LinearOperator A returned non-finite values (its estimated ||A||^2 is {L}): check its matvec and "
            "rmatvec (NaN or inf in A or in its implementation)."
        )


def _lam_sequence(lam) -> np.ndarray:
    """A list or tuple lam as a float64 array (the per-coordinate form)."""
    try:
        return np.asarray(lam, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lam must be a nonnegative number or a sequence of d nonnegative numbers; got {lam!r}.") from exc


def _admm_applicable(prob) -> bool:
    from cvxpar.losses import LeastSquares

    return isinstance(prob.loss, LeastSquares) and prob.loss.op.kind == "dense"


def _operator_note(loss) -> str:
    kind = getattr(getattr(loss, "op", None), "kind", "dense")
    return "" if kind == "dense" else f" on a {kind} A"


def _cd_refusal(prob) -> str:
    """Why method 'cd' does not apply to this problem, and what to use."""
    loss = prob.loss
    if not isinstance(loss, LinearModelLoss):
        return (f"method 'cd' needs a linear-model loss (cvxpar.losses.LinearModelLoss); got {type(loss).__name__}. "
                "Use 'fista' (or 'auto').")
    if loss.op.kind not in ("dense", "sparse") or not prob.xp.__name__.endswith("numpy"):
        return "method 'cd' needs a dense NumPy or scipy.sparse A; use 'fista' (or 'auto')."
    if prob.lb is not None:
        return (
            "method 'cd' with a nonconvex psi needs scalar Box bounds (one lower and one upper bound for every "
            "coordinate); with per-coordinate bounds use 'fista' or 'pg' (or 'auto')."
        )
    return (f"method 'cd' with a nonconvex psi needs a loss with a finite smoothness (sup of d2h); "
            f"{type(loss).__name__}.smoothness is None: use 'fista' or 'pg' (or 'auto').")


def pick(prob, small: bool = True) -> tuple[str, str]:
    """The method ``"auto"`` runs, and why (the rules measured in benchmarks/RESULTS.md: lasso, solver_speed,
    glm_losses, startup); ``small=False`` skips the small-problem rule (what runs when ``"ssn"`` stops short)."""
    if small and ssn.small(prob):
        return "ssn", ("small dense problem with a convex psi: semismooth Newton on the full Hessian, globalized on "
                       "the forward-backward envelope (NumPy/LAPACK only)")
    if prob.feasible.has_rows:
        if alm.applies(prob):
            return "alm", ("Simplex/Linear constraints with a convex psi: augmented Lagrangian on the rows, each "
                           "subproblem by ssnal, + active-set polish with the rows")
        return "admm", "Simplex/Linear constraints (nonconvex psi or another data format): ADMM"
    cd_ok = _cd_applicable(prob)
    n = prob.loss.n_samples if cd_ok else 0
    if cd_ok and prob.kpsi.n_breakpoints <= 1 and (prob.d > n or 4 * prob.d <= n) and _cd_exact(prob.loss):
        if _saturated(prob):
            return "ssnal", (f"wide least squares (d >= {SATURATED_WIDTH} n) with lam <= lam_max / {SATURATED_LAM:g}, "
                             "where the solution has about n_samples nonzeros and coordinate descent crawls: "
                             "semismooth Newton augmented Lagrangian + active-set polish")
        shape = "wide" if prob.d > n else "tall (d <= n/4)"
        return "cd", (f"{shape} least squares with a one-breakpoint psi (Lasso-like): working-set coordinate "
                      "descent + active-set polish")
    if cd_ok and prob.convex and _cd_exact(prob.loss) and _nearly_empty_columns(prob.loss):
        return "cd", (f"wide least squares on scipy.sparse data with at most {SPARSE_CD_DENSITY:.1%} nonzeros: "
                      "working-set coordinate descent + exact face polish (ssnal continues if it stalls)")
    if _ssnal_applicable(prob) and prob.loss.piecewise_quadratic:
        return "ssnal", ("piecewise-quadratic loss with a convex psi: semismooth Newton augmented Lagrangian + "
                         "active-set polish")
    if _ssnal_applicable(prob) and _has_curved_quadratic_part(prob.loss):
        return "ssnal", ("a sum of losses with a least-squares or Huber part and a convex psi: semismooth Newton "
                         "augmented Lagrangian + active-set polish")
    if cd_ok and _ssnal_applicable(prob) and _scaled_columns(prob.loss):
        return "ssnal", (f"column norms of A spread over more than {_metric.SPREAD:g}x with a convex psi: semismooth "
                         "Newton augmented Lagrangian in the column-norm metric + active-set polish")
    if cd_ok:
        return "cd", "linear-model loss on NumPy: working-set (proximal Newton) coordinate descent + active-set polish"
    return "fista", "accelerated proximal gradient with restart + active-set polish"


def _has_curved_quadratic_part(loss) -> bool:
    """A :class:`~cvxpar.losses.Stacked` loss one of whose parts is piecewise quadratic with curvature (least
    squares, Huber): cd crawls on such a part where ssnal does not (least squares + logistic, 200 x 2000, ridge
    PAR with 7 levels: cd 5000 epochs, 1.1 s, not certified; ssnal 0.6 s, certified)."""
    return any(p.piecewise_quadratic and p.smoothness for p in getattr(loss, "parts", ()))


def _nearly_empty_columns(loss) -> bool:
    """A wide scipy.sparse A with at most SPARSE_CD_DENSITY of its entries nonzero (columns of a few nonzeros),
    where cd's epochs cost O(nnz) and ssnal's Newton steps mostly Python work: 7-level ridge least squares at
    1000 x 5000 and 2000 x 10000, densities 0.1-0.5 %, lam 0.001 n - 0.05 n, cd 1.3-6x faster; at 1 % a tie and
    at 3 % ssnal 1.5x faster (benchmarks/RESULTS.md, "sparse data (session 11)")."""
    n, d = loss.op.shape
    return loss.op.kind == "sparse" and d > n and loss.op.A.nnz <= SPARSE_CD_DENSITY * n * d


def _saturated(prob) -> bool:
    """A wide least-squares problem on a dense A (d >= SATURATED_WIDTH n_samples, convex psi) whose lam lies
    below lam_max / SATURATED_LAM: lam_max the smallest multiple of lam at which x = 0 is critical (:meth:`cvxpar.PAR.lam_max` of
    -grad f(0) / lam; one product with A^T).  Far down the Lasso path the solution has about n_samples nonzeros,
    as many as a unique solution can have (Tibshirani 2013, "The lasso problem and uniqueness", EJS 7), and
    coordinate descent's free block is then nearly singular: its epochs crawl (``python benchmarks/run.py
    lasso``: cd hands off to ssnal there after 1000-3000 epochs)."""
    n = prob.loss.n_samples
    if not (_ssnal_applicable(prob) and prob.loss.op.kind == "dense" and prob.d >= SATURATED_WIDTH * n):
        return False  # measured on dense A (on a sparse one, cd's O(nnz) epochs change the balance)
    lam = np.asarray(prob.lam, dtype=np.float64)  # cd's data: NumPy
    if not bool(np.all(lam > 0)):
        return False
    c = -np.asarray(prob.loss.grad(prob.zeros), dtype=np.float64)
    return SATURATED_LAM <= prob.kpsi.lam_max(c / lam) < math.inf


def _scaled_columns(loss) -> bool:
    """A dense A whose column norms spread over more than ``_metric.SPREAD`` (where cd crawls and ssnal's
    column-norm metric applies).  Not scipy.sparse data: there a wide spread mostly comes from columns with one
    or two small entries, and cd stays faster (breadth's sparse logistic 400 x 4000, spread 1.9e4: cd 0.016 s,
    ssnal 0.050 s)."""
    return loss.op.kind == "dense" and _metric.column_spread(loss.op) > _metric.SPREAD


def _cd_exact(loss) -> bool:
    """cd's closed-form least-squares path applies (cd and its numba kernels are imported only when asked)."""
    from cvxpar.solvers import cd

    return cd.exact(loss)


def _ssnal_applicable(prob) -> bool:
    return isinstance(prob.loss, LinearModelLoss) and prob.convex


def _cd_applicable(prob) -> bool:
    loss = prob.loss
    if not isinstance(loss, LinearModelLoss) or loss.op.kind not in ("dense", "sparse"):
        return False
    if not prob.xp.__name__.endswith("numpy"):
        return False
    nonconvex = not prob.kpsi.is_convex
    # a nonconvex psi: scalar bounds only, and a majorizer needs a finite smoothness
    return not (nonconvex and (prob.lb is not None or loss.smoothness is None))
