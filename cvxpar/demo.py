"""``cvxpar demo``: a constrained quantized regression, solved exactly by CVXPY and by cvxpar.

The problem (standardized diabetes data of Efron et al. 2004, shipped in :mod:`cvxpar.data`):

    minimize   1/(2n) ||y - X w||^2 + alpha * sum_i psi(w_i)
    subject to -0.5 <= w_i <= 0.5,  w_bmi, w_bp, w_s5 >= 0   (risk factors raise progression)

with psi the interpolant of x^2/2 on the 5-level grid Q = {-0.5, -0.25, 0, 0.25, 0.5}
(:func:`cvxpar.pars.ridge`): a convex PAR whose kinks pull coefficients onto Q.  For a few
alphas it solves the problem with :func:`cvxpar.reference` (CVXPY, exact) and
:func:`cvxpar.solve`, prints a comparison table (objective, time, quantization rate), the
coefficients, and saves a plot when matplotlib is installed.

Needs only the core package: no scikit-learn, and matplotlib only for the plot.  If the shipped
data file is missing (an install without package data) it falls back to a synthetic data set
and says so in every line that names the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The grid Q of the demo, the alphas it solves for, and the box on the coefficients.
GRID_STEP, GRID_LEVELS = 0.25, 5
ALPHAS = (0.1, 0.3, 1.0)
BOUND = 0.5
#: Features whose coefficient is constrained nonnegative (known risk factors).
NONNEGATIVE = ("bmi", "bp", "s5")


@dataclass
class Data:
    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    name: str
    short: str


@dataclass
class Row:
    alpha: float
    solver: str
    objective: float
    seconds: float
    quantization_rate: float
    r2: float
    x: np.ndarray
    status: str
    method: str


@dataclass
class Outcome:
    """What the demo computed: the data's name, the grid, one :class:`Row` per (alpha, solver), the plot path."""

    data: Data
    grid: np.ndarray
    rows: list[Row] = field(default_factory=list)
    plot: Path | None = None


def load_data() -> Data:
    """Standardized diabetes data (z-scores of X and y); a labelled synthetic stand-in if the file is missing.

    Returns
    -------
    Data
        ``X`` (442 x 10), ``y``, the feature names, and the data set's long and short names.

    Examples
    --------
    >>> from cvxpar import demo
    >>> data = demo.load_data()
    >>> data.X.shape, data.features[:3]
    ((442, 10), ('age', 'sex', 'bmi'))
    """
    from cvxpar.data import DIABETES_FEATURES, load_diabetes

    try:
        X, y = load_diabetes(scaled=False)
        name = "diabetes (Efron et al. 2004; 442 patients x 10 baseline variables)"
        short = "diabetes data"
    except OSError:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((442, 10))
        y = X @ np.array([0.0, -0.1, 0.3, 0.2, 0.0, 0.0, -0.1, 0.1, 0.3, 0.0]) + 0.7 * rng.standard_normal(442)
        name = "SYNTHETIC stand-in (the shipped diabetes data file was not found)"
        short = "SYNTHETIC data"
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (y - y.mean()) / y.std()
    return Data(X, y, DIABETES_FEATURES, name, short)


def grid() -> np.ndarray:
    """The demo's quantization grid Q.

    Examples
    --------
    >>> from cvxpar import demo
    >>> demo.grid()
    array([-0.5 , -0.25,  0.  ,  0.25,  0.5 ])
    """
    from cvxpar.grids import uniform

    return uniform(GRID_STEP, GRID_LEVELS)


def problem(data: Data):
    """(loss, psi, constraints, grid) of the demo's problem, with lam = n * alpha to be passed.

    The loss is 1/2 ||y - X w||^2, so lam = n * alpha gives the objective 1/(2n) ||y - X w||^2 +
    alpha * sum_i psi(w_i) scaled by n.

    Parameters
    ----------
    data : Data
        From :func:`load_data`.

    Returns
    -------
    loss : cvxpar.losses.LeastSquares
    psi : PAR
        The ridge PAR on :func:`grid`.
    constraints : cvxpar.constraints.Box
        |w_i| <= BOUND, and w_i >= 0 for the features in NONNEGATIVE.
    grid : numpy.ndarray

    Examples
    --------
    >>> import cvxpar
    >>> from cvxpar import demo
    >>> data = demo.load_data()
    >>> loss, psi, box, q = demo.problem(data)
    >>> res = cvxpar.solve(loss, psi, len(data.y) * 0.3, constraints=box)
    >>> res.status
    'optimal'
    """
    import cvxpar
    from cvxpar.constraints import Box
    from cvxpar.losses import LeastSquares

    q = grid()
    psi = cvxpar.pars.ridge(q)
    lower = np.array([0.0 if f in NONNEGATIVE else -BOUND for f in data.features])
    return LeastSquares(data.X, data.y), psi, Box(lower, BOUND), q


def run(out: Path | None, alphas: Sequence[float] | None = None, say: Callable[[str], None] = print) -> Outcome:
    """Solve the demo problem for each alpha (default :data:`ALPHAS`) with CVXPY and with cvxpar.

    Plots to ``out`` (None: no plot); ``say`` receives every line of output.

    Parameters
    ----------
    out : pathlib.Path or None
        Where to save the PNG plot (needs matplotlib); None draws none.
    alphas : sequence of float, optional
        The weights alpha; default :data:`ALPHAS`.
    say : callable, default print
        Receives each line of the report.

    Returns
    -------
    Outcome
        The data, the grid, one row per (alpha, solver), and the plot's path (or None).

    Examples
    --------
    >>> from cvxpar import demo
    >>> outcome = demo.run(None, alphas=[0.3], say=lambda line: None)
    >>> [(r.solver.split()[0], r.status) for r in outcome.rows]
    [('CVXPY', 'optimal'), ('cvxpar', 'optimal')]
    """
    import cvxpar

    alphas = alphas or ALPHAS
    t_start = time.perf_counter()

    def step(msg: str) -> None:
        say(f"[{time.perf_counter() - t_start:5.1f}s] {msg}")

    data = load_data()
    step(f"data: {data.name}; X and y standardized")
    loss, psi, box, q = problem(data)
    n = data.X.shape[0]

    def r2(x: np.ndarray) -> float:
        resid = data.y - data.X @ x
        return 1.0 - float(resid @ resid) / float(data.y @ data.y)

    ols = np.linalg.lstsq(data.X, data.y, rcond=None)[0]
    step(
        f"problem: 1/(2n)||y - Xw||^2 + alpha*sum psi(w_i), psi = interpolant of x^2/2 on Q = {{{', '.join(f'{v:g}' for v in q)}}}, "
        f"|w_i| <= {BOUND}, w >= 0 for {', '.join(NONNEGATIVE)} "
        f"(plain least squares: R^2 = {r2(ols):.4f}, {cvxpar.quantization_rate(ols, q):.0%} on Q)"
    )
    solvers = (("CVXPY reference", cvxpar.reference), ("cvxpar", cvxpar.solve))
    step("warming up both solvers once (imports, JIT compilation; not timed) ...")
    for _, fn in solvers:
        fn(loss, psi, n * alphas[0], constraints=box)
    outcome = Outcome(data=data, grid=q)
    for alpha in alphas:
        for label, fn in solvers:
            step(f"alpha = {alpha:g}: solving with {label} ...")
            t0 = time.perf_counter()
            res = fn(loss, psi, n * alpha, constraints=box)
            seconds = time.perf_counter() - t0
            x = np.asarray(res.x, dtype=np.float64)
            outcome.rows.append(
                Row(
                    alpha=alpha,
                    solver=label,
                    objective=float(res.objective) / n,
                    seconds=seconds,
                    quantization_rate=cvxpar.quantization_rate(x, q),
                    r2=r2(x),
                    x=x,
                    status=res.status,
                    method=str(res.info.get("solver", res.method)) if res.info else res.method,
                )
            )
    step("done solving")
    say("")
    say(comparison_table(outcome))
    say("")
    say(coefficient_table(outcome))
    say("")
    if out is not None:
        step(f"plotting to {out} ...")
        try:
            outcome.plot = plot(outcome, out)
        except ImportError:
            say('matplotlib is not installed, so no plot was drawn (pip install "cvxpar[plot]" for one).')
    if outcome.plot is not None:
        say(f"plot of the coefficients on the grid saved to {outcome.plot}")
    say(f"total time {time.perf_counter() - t_start:.1f}s")
    return outcome


def comparison_table(outcome: Outcome) -> str:
    """The Markdown table: method, objective (divided by n), |x - x_ref|, time, quantization rate, R^2, status."""
    head = "| alpha | solver | method | objective / n | max abs(w - w_ref) | time (s) | on grid | R^2 | status |"
    lines = [head, "|---:|---|---|---:|---:|---:|---:|---:|---|"]
    ref = None
    for r in outcome.rows:
        if r.solver.startswith("CVXPY"):
            ref = r
        diff = "-" if r is ref else f"{np.max(np.abs(r.x - ref.x)):.1e}"
        lines.append(
            f"| {r.alpha:g} | {r.solver} | {r.method} | {r.objective:.8f} | {diff} | {r.seconds:.3f} | "
            f"{r.quantization_rate:.0%} | {r.r2:.4f} | {r.status} |"
        )
    return "\n".join(lines)


def coefficient_table(outcome: Outcome) -> str:
    """Coefficients per feature for each alpha (cvxpar's), a star marking those on the grid."""
    from cvxpar.metrics import snap

    ours = [r for r in outcome.rows if r.solver == "cvxpar"]
    lines = ["| feature | " + " | ".join(f"alpha={r.alpha:g}" for r in ours) + " |", "|---|" + "---:|" * len(ours)]
    for j, f in enumerate(outcome.data.features):
        cells = []
        for r in ours:
            on_grid = abs(r.x[j] - snap(r.x[j], outcome.grid)) <= 1e-8
            cells.append(f"{r.x[j]:+.4f}{'*' if on_grid else ' '}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("(cvxpar's coefficients; * = on the grid Q)")
    return "\n".join(lines)


def plot(outcome: Outcome, out: Path) -> Path:
    """One panel per alpha: the reference and cvxpar coefficients over the grid lines.

    Parameters
    ----------
    outcome : Outcome
        From :func:`run`.
    out : pathlib.Path
        The PNG file to write (its folder is created).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ImportError
        Without matplotlib (``pip install "cvxpar[plot]"``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = sorted({r.alpha for r in outcome.rows})
    fig, axes = plt.subplots(1, len(alphas), figsize=(4.2 * len(alphas), 4.0), sharey=True, squeeze=False)
    features = outcome.data.features
    pos = np.arange(len(features))
    for ax, alpha in zip(axes[0], alphas, strict=True):
        for q in outcome.grid:
            ax.axhline(q, color="0.7", lw=0.8, ls="--", zorder=0)
        ax.set_yticks(outcome.grid)
        for r in outcome.rows:
            if r.alpha != alpha:
                continue
            if r.solver == "cvxpar":
                ax.plot(pos, r.x, "x", color="C3", ms=9, mew=2, label=f"cvxpar ({r.quantization_rate:.0%} on grid)")
            else:
                ax.plot(pos, r.x, "o", mfc="none", color="C0", ms=11, label="CVXPY reference")
        ax.set_xticks(pos, features, rotation=60)
        ax.set_title(f"alpha = {alpha:g}")
        ax.legend(loc="lower left", fontsize=8)
    axes[0][0].set_ylabel("coefficient (standardized); dashed: grid Q")
    fig.suptitle(f"PAR-regularized constrained regression: {outcome.data.short}", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
