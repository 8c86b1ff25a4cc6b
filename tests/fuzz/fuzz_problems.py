"""Hypothesis strategies for random PAR-regularized problems (the fuzzing suite's inputs).

A :class:`Case` is one problem  minimize loss(x) + sum_i lam_i psi(x_i)  s.t. x in C  held as raw
NumPy data (so the oracles can rebuild every part independently of cvxpar) plus the cvxpar
objects built from it.  The strategy draws

- every loss: least squares, logistic, Huber, and a :class:`cvxpar.losses.Smooth` quadratic;
- every PAR family of :mod:`cvxpar.pars` and random PARs from ``PAR.from_slopes`` (convex,
  quasiconvex or nonconvex slopes, walls at random), ``PAR.from_pieces`` and ``PAR.interpolate``,
  on grids of 3 to 255 levels;
- every constraint kind: none, a scalar Box, a per-coordinate Box, NonNeg, Simplex, Linear
  equalities, Linear inequalities;
- data scaled by 1e-6 .. 1e6, with ill-conditioned columns; with ``degenerate=True`` also rows scaled by 1e+-6,
  zero and rank-deficient columns (duplicated ones always); dense or scipy.sparse A; tall (n up to 60) and wide
  (d up to 40) shapes from :func:`shaped_cases`;
- psi with near-equal breakpoints (pairs an ulp, 1e-12 or 1e-9 apart: :func:`near_equal_psi`);
- lam log-uniform on 1e-4 .. 1e2, per coordinate (some zero), and the extremes 0, 1e-300, 1e300.

``Case.snippet()`` prints Python that rebuilds the case: hypothesis shows it for a falsifying
example, and it is the minimal reproducer a report quotes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

import cvxpar
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth

LOSSES = ("ls", "logistic", "huber", "smooth")
FAMILIES = ("l1", "ridge", "parq", "mcp", "sawtooth", "staircase", "from_slopes", "from_pieces", "interpolate")
#: with ``degenerate=True``: also psi with near-equal breakpoints
DEGENERATE_FAMILIES = (*FAMILIES, "near_equal")
CONSTRAINTS = ("none", "box", "box_vec", "nonneg", "simplex", "linear_eq", "linear_ineq")
EXTREME_LAMS = (0.0, 1e-300, 1e300)
INTERPOLANTS = {
    "x^2/2": lambda q: 0.5 * q * q,
    "|x|": np.abs,
    "sqrt|x|": lambda q: np.sqrt(np.abs(q)),
    "sin": np.sin,
    "-cos": lambda q: -np.cos(q),
    "x^4": lambda q: q**4,
}


def log_uniform(lo_exp: float, hi_exp: float):
    """10**u for u uniform on [lo_exp, hi_exp], rounded to 6 significant digits (readable reproducers)."""
    return st.floats(lo_exp, hi_exp).map(lambda u: float(f"{10.0**u:.6g}"))


@dataclass
class PsiSpec:
    """How psi was built: the family, its arguments (as source text) and the PAR."""

    family: str
    source: str
    psi: cvxpar.PAR


@dataclass
class Case:
    """One random problem: raw data, psi, lam, constraints (as specs and cvxpar objects)."""

    loss_kind: str
    A: np.ndarray
    target: np.ndarray
    psi_spec: PsiSpec
    lam: float | np.ndarray
    cons_kind: str
    cons_data: dict = field(default_factory=dict)
    huber_M: float = 1.0
    smooth_hessian: bool = False
    sparse: bool = False

    @property
    def psi(self) -> cvxpar.PAR:
        return self.psi_spec.psi

    @property
    def d(self) -> int:
        return self.A.shape[1]

    def loss(self):
        """A fresh cvxpar loss on the case's data (A as a CSR matrix when ``sparse``)."""
        A, t = self.A, self.target
        M = sp.csr_matrix(A) if self.sparse else A
        if self.loss_kind == "ls":
            return LeastSquares(M, t)
        if self.loss_kind == "logistic":
            return Logistic(M, t)
        if self.loss_kind == "huber":
            return Huber(M, t, M=self.huber_M)
        return Smooth(
            lambda x: 0.5 * float(np.sum((A @ x - t) ** 2)),
            lambda x: A.T @ (A @ x - t),
            lipschitz=max(float(np.linalg.norm(A, 2)) ** 2, 1e-300),
            n_features=A.shape[1],
            hessian=(lambda x: A.T @ A) if self.smooth_hessian else None,
        )

    def constraints(self):
        """The cvxpar constraint objects (None for no constraint)."""
        c = self.cons_data
        return {
            "none": lambda: None,
            "box": lambda: Box(c["lower"], c["upper"]),
            "box_vec": lambda: Box(c["lower"], c["upper"]),
            "nonneg": lambda: NonNeg(),
            "simplex": lambda: Simplex(c["total"]),
            "linear_eq": lambda: Linear(A_eq=c["A_eq"], b_eq=c["b_eq"]),
            "linear_ineq": lambda: Linear(A_ub=c["A_ub"], b_ub=c["b_ub"]),
        }[self.cons_kind]()

    def snippet(self) -> str:
        """Python source that rebuilds this case (the reproducer a report quotes)."""
        lines = [
            "import numpy as np",
            "import scipy.sparse as sp",
            "import cvxpar",
            "from cvxpar import pars, grids",
            "from cvxpar.constraints import Box, Linear, NonNeg, Simplex",
            "from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth",
            f"A = {_src(self.A)}",
            f"target = {_src(self.target)}",
            f"psi = {self.psi_spec.source}",
            f"lam = {_src(self.lam)}",
        ]
        M = "sp.csr_matrix(A)" if self.sparse else "A"
        loss = {
            "ls": f"LeastSquares({M}, target)",
            "logistic": f"Logistic({M}, target)",
            "huber": f"Huber({M}, target, M={self.huber_M!r})",
            "smooth": (
                "Smooth(lambda x: 0.5 * float(np.sum((A @ x - target) ** 2)), lambda x: A.T @ (A @ x - target), "
                f"lipschitz=max(float(np.linalg.norm(A, 2)) ** 2, 1e-300), n_features={self.d}"
                + (", hessian=lambda x: A.T @ A)" if self.smooth_hessian else ")")
            ),
        }[self.loss_kind]
        lines.append(f"loss = {loss}")
        c = self.cons_data
        cons = {
            "none": "None",
            "box": f"Box({_src(c.get('lower'))}, {_src(c.get('upper'))})",
            "box_vec": f"Box({_src(c.get('lower'))}, {_src(c.get('upper'))})",
            "nonneg": "NonNeg()",
            "simplex": f"Simplex({c.get('total')!r})",
            "linear_eq": f"Linear(A_eq={_src(c.get('A_eq'))}, b_eq={_src(c.get('b_eq'))})",
            "linear_ineq": f"Linear(A_ub={_src(c.get('A_ub'))}, b_ub={_src(c.get('b_ub'))})",
        }[self.cons_kind]
        lines.append(f"constraints = {cons}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Case(<<\n{self.snippet()}\n>>)"


def _src(value) -> str:
    if isinstance(value, np.ndarray):
        text = f"np.array({value.tolist()!r})"
    else:
        text = repr(float(value)) if isinstance(value, (float, np.floating)) else repr(value)
    return text.replace("inf", "np.inf")


# ---------------------------------------------------------------------------- psi
@st.composite
def grid_specs(draw, max_levels: int = 255):
    """(source, grid): a uniform grid of 3..max_levels levels (small sizes more often)."""
    small = st.integers(3, min(9, max_levels))
    big = st.sampled_from([n for n in (15, 31, 64, 127, 255) if n <= max_levels] or [3])
    n = draw(st.one_of(small, small, big))
    step = draw(log_uniform(-2.0, 0.5))
    center = draw(st.sampled_from([0.0, 0.0, round(step / 3, 6), -1.0]))
    return f"grids.uniform({step!r}, {n}, center={center!r})", cvxpar.grids.uniform(step, n, center=center)


@st.composite
def psi_specs(draw, family: str | None = None, max_levels: int = 255, degenerate: bool = False) -> PsiSpec:
    """A PAR from a family of cvxpar.pars or a random constructor, on a random grid (``degenerate``: also
    near-equal breakpoints)."""
    family = family or draw(st.sampled_from(DEGENERATE_FAMILIES if degenerate else FAMILIES))
    gsrc, grid = draw(grid_specs(max_levels))
    span = float(grid[-1] - grid[0])
    if family == "l1":
        eps = draw(st.sampled_from([0.0, 0.1, 0.5]))
        src = f"pars.l1({gsrc}, eps={eps!r})"
    elif family == "ridge":
        src = f"pars.ridge({gsrc}, box={draw(st.booleans())!r})"
    elif family == "parq":
        src = f"pars.parq({gsrc})"
    elif family == "mcp":
        gamma = float(f"{draw(st.floats(0.1, 2.0)) * span:.6g}")
        src = f"pars.mcp({gsrc}, {gamma!r})"
    elif family == "sawtooth":
        src = f"pars.sawtooth({gsrc}, slope={draw(log_uniform(-1.0, 1.0))!r})"
    elif family == "staircase":
        rise = draw(st.sampled_from([0.1, 0.5, 0.9]))
        src = f"pars.staircase({gsrc}, rise={rise!r}, slope={draw(log_uniform(-1.0, 1.0))!r})"
    elif family == "from_slopes":
        curv = draw(st.sampled_from(["convex", "quasiconvex", "nonconvex"]))
        raw = draw(st.lists(st.integers(-40, 40), min_size=grid.size + 1, max_size=grid.size + 1))
        s = np.asarray(raw, dtype=np.float64) / 10.0
        if curv == "convex":
            s = np.sort(s)
        elif curv == "quasiconvex":
            split = draw(st.integers(0, s.size))
            s[:split], s[split:] = -np.abs(s[:split]), np.abs(s[split:])
        if draw(st.booleans()):
            s[0] = -np.inf
        if draw(st.booleans()):
            s[-1] = np.inf
        offset = draw(st.sampled_from([0.0, 1.5, -2.0]))
        slopes = "[" + ", ".join("-np.inf" if v == -np.inf else "np.inf" if v == np.inf else repr(float(v)) for v in s) + "]"
        src = f"cvxpar.PAR.from_slopes({gsrc}, {slopes}, offset={offset!r})"
    elif family == "from_pieces":
        k = draw(st.integers(1, min(grid.size, 12)))
        a = sorted(draw(st.lists(st.integers(-30, 30), min_size=k, max_size=k)))
        c = draw(st.lists(st.integers(-20, 20), min_size=k, max_size=k))
        src = f"cvxpar.PAR.from_pieces({[x / 10 for x in a]!r}, {[x / 10 for x in c]!r})"
    elif family == "near_equal":
        return near_equal_psi(draw, grid, gsrc)
    else:
        name = draw(st.sampled_from(sorted(INTERPOLANTS)))
        walls = draw(st.booleans())
        extra = ", -np.inf, np.inf" if walls else ""
        src = f"cvxpar.PAR.interpolate(INTERPOLANTS[{name!r}], {gsrc}{extra})"
    psi = eval(src, {"np": np, "cvxpar": cvxpar, "pars": cvxpar.pars, "grids": cvxpar.grids, "INTERPOLANTS": INTERPOLANTS})
    if family == "interpolate":  # a reproducer must not need this module's table
        src = src.replace(f"INTERPOLANTS[{name!r}]", _INTERPOLANT_SRC[name])
    return PsiSpec(family, src, psi)


def near_equal_psi(draw, grid: np.ndarray, gsrc: str) -> PsiSpec:
    """A PAR on ``grid`` with one breakpoint doubled at a relative distance of an ulp, 1e-12 or 1e-9
    (the nearest distinct float, so the breakpoints stay strictly increasing), values of a convex,
    quasiconvex or nonconvex shape, walls at random."""
    j = draw(st.integers(0, grid.size - 1))
    gap = draw(st.sampled_from(["ulp", 1e-12, 1e-9]))
    q0 = float(grid[j])
    if gap == "ulp":
        q1 = float(np.nextafter(q0, np.inf))
    else:
        q1 = q0 + gap * max(abs(q0), 1.0)
    if j + 1 < grid.size and q1 >= grid[j + 1]:
        q1 = float(np.nextafter(q0, np.inf))
    q = np.insert(grid, j + 1, q1)
    shape = draw(st.sampled_from(["x^2/2", "|x|", "sawtooth", "jump"]))
    if shape == "x^2/2":
        vals = 0.5 * q * q
    elif shape == "|x|":
        vals = np.abs(q)
    elif shape == "sawtooth":
        vals = np.where(np.arange(q.size) % 2 == 0, 0.0, 0.5 * float(np.min(np.diff(grid))) if grid.size > 1 else 0.5)
    else:  # a steep rise across the near-equal pair: a slope up to 1/gap
        vals = np.where(np.arange(q.size) > j, 1.0, 0.0) + 0.1 * np.abs(q)
    left = draw(st.sampled_from([-np.inf, -1.0, 0.0]))
    right = draw(st.sampled_from([np.inf, 1.0, 0.0]))
    src = (f"cvxpar.PAR({_src(q)}, {_src(np.asarray(vals, dtype=np.float64))}, {_src(float(left))}, "
           f"{_src(float(right))})")
    psi = cvxpar.PAR(q, np.asarray(vals, dtype=np.float64), left, right)
    return PsiSpec("near_equal", src, psi)


_INTERPOLANT_SRC = {
    "x^2/2": "lambda q: 0.5 * q * q",
    "|x|": "np.abs",
    "sqrt|x|": "lambda q: np.sqrt(np.abs(q))",
    "sin": "np.sin",
    "-cos": "lambda q: -np.cos(q)",
    "x^4": "lambda q: q**4",
}


# ---------------------------------------------------------------------------- lam
def lams(d: int):
    """A scalar lam (log-uniform or extreme) or a per-coordinate array with some zeros."""
    scalar = st.one_of(log_uniform(-4.0, 2.0), log_uniform(-4.0, 2.0), st.sampled_from(EXTREME_LAMS))
    vector = st.lists(st.one_of(log_uniform(-4.0, 2.0), st.just(0.0)), min_size=d, max_size=d).map(np.asarray)
    return st.one_of(scalar, scalar, vector)


# ---------------------------------------------------------------------------- data
@st.composite
def designs(draw, n: int, d: int, seed: int, degenerate: bool = False) -> np.ndarray:
    """A (n, d) design: Gaussian, scaled 1e-6..1e6, maybe ill-conditioned columns and duplicated columns;
    with ``degenerate`` also rank deficiency, rows scaled over 1e-6..1e6 and zero columns."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    if degenerate and d >= 2 and n >= 2 and draw(st.integers(0, 5)) == 0:  # rank deficient: rank 1 .. min(n, d) - 1
        r = int(rng.integers(1, min(n, d)))
        A = rng.standard_normal((n, r)) @ rng.standard_normal((r, d))
    if draw(st.booleans()):  # ill-conditioned: columns over several orders of magnitude
        A *= 10.0 ** rng.uniform(-4, 4, size=d)
    if degenerate and draw(st.integers(0, 4)) == 0:  # rows over 1e-6 .. 1e6
        A *= (10.0 ** rng.uniform(-6, 6, size=n))[:, None]
    if d >= 2 and draw(st.booleans()):  # duplicated (or nearly duplicated) columns
        i, j = rng.choice(d, 2, replace=False)
        A[:, j] = A[:, i] * draw(st.sampled_from([1.0, -1.0, 1.0 + 1e-9]))
    if degenerate and draw(st.integers(0, 4)) == 0:  # zero columns (a coordinate the loss does not see)
        A[:, rng.random(d) < 0.3] = 0.0
    scale = draw(st.one_of(st.just(1.0), log_uniform(-6.0, 6.0)))
    return A * scale


def feasible_point(psi: cvxpar.PAR, d: int, seed: int) -> np.ndarray:
    """A point of psi's domain (near its breakpoints), from which feasible constraints are built."""
    rng = np.random.default_rng(seed + 1)
    q = psi.breakpoints
    lo, hi = psi.domain
    span = max(float(q[-1] - q[0]), 1.0)
    x = rng.uniform(q[0] - 0.3 * span, q[-1] + 0.3 * span, size=d)
    return np.clip(x, lo, hi)


@st.composite
def constraint_specs(draw, psi: cvxpar.PAR, d: int, seed: int, kind: str | None = None):
    """(kind, data) of a constraint set, feasible with psi's domain most of the time."""
    kind = kind or draw(st.sampled_from(CONSTRAINTS))
    rng = np.random.default_rng(seed + 2)
    x0 = feasible_point(psi, d, seed)
    if kind == "box":
        lo = float(f"{min(x0) - draw(log_uniform(-3.0, 1.0)):.6g}")
        hi = float(f"{max(x0) + draw(log_uniform(-3.0, 1.0)):.6g}")
        lo, hi = draw(st.sampled_from([(lo, hi), (lo, np.inf), (-np.inf, hi), (0.0, max(hi, 0.0)), (lo, lo)]))
        return kind, {"lower": lo, "upper": hi}
    if kind == "box_vec":
        lo = np.round(x0 - rng.exponential(1.0, d), 6)
        hi = np.round(x0 + rng.exponential(1.0, d), 6)
        lo[rng.random(d) < 0.25] = -np.inf
        hi[rng.random(d) < 0.25] = np.inf
        pinned = (rng.random(d) < 0.15) & np.isfinite(lo)  # lower == upper
        hi[pinned] = lo[pinned]
        return kind, {"lower": lo, "upper": np.maximum(hi, lo)}
    if kind == "simplex":
        return kind, {"total": draw(st.sampled_from([1.0, 1.0, 0.0, 2.5, 0.3]))}
    if kind == "linear_eq":
        k = draw(st.integers(1, max(1, min(3, d - 1))))
        G = np.round(rng.standard_normal((k, d)), 3)
        return kind, {"A_eq": G, "b_eq": G @ x0}
    if kind == "linear_ineq":
        k = draw(st.integers(1, 4))
        G = np.round(rng.standard_normal((k, d)), 3)
        slack = rng.exponential(0.5, k) * (rng.random(k) < 0.7)
        return kind, {"A_ub": G, "b_ub": G @ x0 + slack}
    return kind, {}


@st.composite
def cases(draw, max_d: int = 8, max_levels: int = 255, loss: str | None = None, family: str | None = None,
          constraint: str | None = None, n_range: tuple[int, int] = (1, 12), d_range: tuple[int, int] | None = None,
          sparse: bool | None = False, degenerate: bool = False) -> Case:
    """A random :class:`Case` (module docstring); the arguments pin one axis for targeted tests
    (``sparse=None`` draws dense or sparse A; ``degenerate`` adds near-equal breakpoints, rank-deficient
    data, scaled rows and zero columns)."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(*n_range))
    d = draw(st.integers(*(d_range or (1, max_d))))
    loss_kind = loss or draw(st.sampled_from(LOSSES))
    spec = draw(psi_specs(family, max_levels, degenerate))
    A = draw(designs(n, d, seed, degenerate))
    rng = np.random.default_rng(seed + 3)
    q = spec.psi.breakpoints
    x_true = rng.choice(q, size=d) + 0.1 * rng.standard_normal(d) * max(float(q[-1] - q[0]), 1.0)
    z = A @ x_true
    noise = rng.standard_normal(n) * (float(np.abs(z).max()) + 1e-300) * draw(st.sampled_from([0.0, 0.1, 1.0]))
    if loss_kind == "logistic":
        target = np.where(z + noise >= 0, 1.0, -1.0)
    else:
        target = z + noise
    kind, data = draw(constraint_specs(spec.psi, d, seed, constraint))
    return Case(
        loss_kind=loss_kind,
        A=A,
        target=target,
        psi_spec=spec,
        lam=draw(lams(d)),
        cons_kind=kind,
        cons_data=data,
        huber_M=draw(st.sampled_from([1.0, 0.01, 100.0])),
        smooth_hessian=draw(st.booleans()),
        sparse=draw(st.booleans()) if sparse is None and loss_kind != "smooth" else bool(sparse and loss_kind != "smooth"),
    )


SHAPES = {"tiny": ((1, 12), (1, 3)), "tall": ((20, 60), (1, 6)), "wide": ((2, 8), (10, 40))}


def shaped_cases(shape: str, **kw):
    """:func:`cases` of one shape: ``tiny`` (d = 1..3), ``tall`` (n = 20..60, d <= 6) or ``wide`` (n <= 8,
    d = 10..40), dense or sparse A."""
    n_range, d_range = SHAPES[shape]
    return cases(n_range=n_range, d_range=d_range, max_d=d_range[1], sparse=None, degenerate=True, **kw)


# ---------------------------------------------------------------------------- unbounded and degenerate problems
#: psi's outer slopes (s_-, s_+) by tail kind: which way psi descends at infinity (b > 0 a random magnitude)
TAILS = ("right-down", "left-down", "flat", "up", "wall", "concave")


@st.composite
def recession_psi(draw) -> PsiSpec:
    """A PAR on 1..5 breakpoints whose tails descend to the right or left (unbounded when the data let x move
    that way), are flat (bounded, an optimum perhaps not attained), rise (the ordinary case), end in a wall on
    one side, or are concave (s_- > s_+, descending both ways); the interior slopes convex or not."""
    tail = draw(st.sampled_from(TAILS))
    m = draw(st.integers(1, 5))
    step = draw(st.sampled_from([0.25, 0.5, 1.0]))
    center = draw(st.sampled_from([0.0, -1.0, 1.5]))
    gsrc = f"grids.uniform({step!r}, {m}, center={center!r})"
    a, b = (float(draw(st.sampled_from([0.1, 0.5, 1.0, 2.5]))) for _ in range(2))
    s_minus, s_plus = {"right-down": (-a - b, -a), "left-down": (a, a + b), "flat": (-a, 0.0), "up": (-a, b),
                       "wall": (-np.inf, -a), "concave": (a, -b)}[tail]
    if tail == "flat" and draw(st.booleans()):
        s_minus, s_plus = 0.0, a
    inner = [float(s) / 4 for s in draw(st.lists(st.integers(-12, 12), min_size=m - 1, max_size=m - 1))]
    if draw(st.booleans()) and tail != "concave":  # a convex psi: interior slopes between the outer ones
        lo, hi = (s_minus if np.isfinite(s_minus) else min(inner + [s_plus]) - 1.0), s_plus
        inner = sorted(float(np.clip(s, lo, hi)) for s in inner)
    slopes = [s_minus, *inner, s_plus]
    text = "[" + ", ".join("-np.inf" if s == -np.inf else repr(float(s)) for s in slopes) + "]"
    src = f"cvxpar.PAR.from_slopes({gsrc}, {text}, offset={draw(st.sampled_from([0.0, 1.0]))!r})"
    return PsiSpec(f"tails-{tail}", src, eval(src, {"np": np, "cvxpar": cvxpar, "grids": cvxpar.grids}))


def degenerate_design(rng: np.random.Generator, n: int, d: int, kind: str) -> np.ndarray:
    """A Gaussian (n, d) design rounded to 6 digits, or one with a zero column, a negated duplicate column, or
    rank r < min(n, d) exactly (a product of small integer matrices: no rounding blurs the null space, which
    would make a reference solver's verdict depend on its tolerances)."""
    if kind == "rank" and min(n, d) >= 2:
        r = int(rng.integers(1, min(n, d)))
        return 0.5 * (rng.integers(-2, 3, (n, r)) @ rng.integers(-2, 3, (r, d))).astype(np.float64)
    A = np.round(rng.standard_normal((n, d)), 6)
    if kind == "zero_column":
        A[:, int(rng.integers(d))] = 0.0
    elif kind == "duplicate" and d >= 2:
        i, j = rng.choice(d, 2, replace=False)
        A[:, j] = -A[:, i]
    return A


@st.composite
def recession_cases(draw, loss: str | None = None, constraint: str | None = None, scalar_lam: bool = False) -> Case:
    """A problem that is unbounded below, or bounded but degenerate (a flat or blocked descending tail, rank
    deficient or zero columns, a null space the constraints close), with psi from :func:`recession_psi`:
    wide (n < d: A has a null space) or tall shapes, unscaled data (the references decide the verdict
    reliably), every loss, dense or sparse A, the constraints of :func:`constraint_specs`."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from(["wide", "wide", "tall"]))
    n = draw(st.integers(1, 5)) if shape == "wide" else draw(st.integers(6, 12))
    d = draw(st.integers(n + 1, n + 6)) if shape == "wide" else draw(st.integers(1, 5))
    A = degenerate_design(rng, n, d, draw(st.sampled_from(["plain", "plain", "zero_column", "duplicate", "rank"])))
    loss_kind = loss or draw(st.sampled_from(LOSSES))
    spec = draw(recession_psi())
    z = A @ rng.standard_normal(d)
    target = np.where(z + rng.standard_normal(n) >= 0, 1.0, -1.0) if loss_kind == "logistic" else np.round(
        z + rng.standard_normal(n), 6)
    kind, data = draw(constraint_specs(spec.psi, d, seed, constraint))
    scalar = log_uniform(-2.0, 1.0)
    lam = draw(scalar if scalar_lam else st.one_of(scalar, scalar, st.lists(
        st.one_of(log_uniform(-2.0, 1.0), st.just(0.0)), min_size=d, max_size=d).map(np.asarray)))
    return Case(loss_kind=loss_kind, A=A, target=target, psi_spec=spec, lam=lam, cons_kind=kind,
                cons_data=data, huber_M=draw(st.sampled_from([1.0, 0.1])),
                sparse=loss_kind != "smooth" and draw(st.booleans()))
