"""The bridge's pattern matcher: CVXPY problem -> (loss, psi, lam, constraints), checked without a solver.

Independent reference: CVXPY's own numeric value of the objective.  For the supported shapes the
assembled  scale * (loss(x) + sum_i lam_i psi(x_i))  must differ from ``objective.value`` by a
constant (the constants CVXPY keeps and cvxpar drops), at random points.
"""

from __future__ import annotations

import re

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import cvxpar
from cvxpar import constraints as C
from cvxpar.bridge import UnsupportedProblemError, assemble
from cvxpar.bridge.affine import affine
from cvxpar.bridge.parse import alternative, parse

RNG = np.random.default_rng(7)
M, N = 9, 6
A = RNG.standard_normal((M, N))
B = RNG.standard_normal(M)
Y = np.where(RNG.standard_normal(M) > 0, 1.0, -1.0)
W = RNG.random(N) + 0.1
P = (lambda G: G @ G.T)(RNG.standard_normal((N, N)))
GRID = cvxpar.grids.uniform(step=0.5, n_levels=5)
RIDGE = cvxpar.pars.ridge(GRID)
MCP = cvxpar.pars.mcp(GRID, 2.0)


def _objectives(x, lam):
    return {
        "ls/(2n) + lam sum par": cp.sum_squares(A @ x - B) / (2 * M) + lam * cp.sum(cvxpar.par(x, RIDGE)),
        "ls + ridge + linear + w@abs + w@par": cp.sum_squares(A @ x - B)
        + 0.1 * cp.sum_squares(x)
        + np.ones(N) @ x
        + 2 * W @ cp.abs(x)
        + W @ cvxpar.par(x, RIDGE),
        "sum square": cp.sum(cp.square(B - A @ x)) + lam * cp.norm1(x),
        "3 logistic + nonconvex par": 3 * cp.sum(cp.logistic(-cp.multiply(Y, A @ x)))
        + lam * cp.sum(cvxpar.par(x, MCP)),
        "logistic/n + sum_squares(x)": cp.sum(cp.logistic(-cp.multiply(Y, A @ x))) / M
        + cp.sum_squares(x)
        + lam * cp.sum(cp.abs(x)),
        "huber + two pars": cp.sum(cp.huber(A @ x - B, 0.7))
        + lam * cp.sum(cvxpar.par(x, RIDGE))
        + 2 * lam * cp.norm1(x),
        "quad_form + q@x + w@abs": cp.quad_form(x, P) + RNG.standard_normal(N) @ x + W @ cp.abs(x),
        "singular quad_form + q@x": cp.quad_form(x, np.diag([1.0, 1, 0, 0, 0, 0]))
        + np.ones(N) @ x
        + cp.sum(cvxpar.par(x, RIDGE)),
        "sparse A": 0.5 * cp.sum_squares(sp.csr_matrix(A) @ x - B) + lam * cp.norm1(x),
        "indexed residual": cp.sum_squares(x[:3] - 1.0) + cp.sum_squares(cp.hstack([x[3] + x[4], x[5]])) + cp.norm1(x),
    }


@pytest.mark.parametrize("name", list(_objectives(cp.Variable(N), cp.Parameter(nonneg=True))))
def test_assembled_problem_matches_cvxpy_objective(name):
    x = cp.Variable(N)
    lam = cp.Parameter(nonneg=True, value=0.3)
    obj = _objectives(x, lam)[name]
    s = parse(cp.Problem(cp.Minimize(obj)))
    loss = assemble.build_loss(s, "")
    psi, weights = assemble.build_par(s, loss.scale, "")

    def cvxpy_value(v):
        x.value = v
        return obj.value

    def cvxpar_value(v):
        return loss.scale * (loss.loss.value(v) + float(np.sum(weights * psi(v))))

    points = [RNG.uniform(-0.9, 0.9, N) for _ in range(4)]
    ref = [cvxpy_value(v) - cvxpy_value(points[0]) for v in points[1:]]
    got = [cvxpar_value(v) - cvxpar_value(points[0]) for v in points[1:]]
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_parameter_weight_is_read_at_solve_time_and_structure_reused():
    x = cp.Variable(N)
    lam = cp.Parameter(nonneg=True, value=0.5)
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) + lam * cp.sum(cvxpar.par(x, RIDGE)))))
    assert not s.smooth_params and s.par_params
    loss = assemble.build_loss(s, "")
    assert assemble.build_par(s, loss.scale, "")[1] == pytest.approx(0.5)
    lam.value = 2.0
    assert assemble.build_par(s, loss.scale, "")[1] == pytest.approx(2.0)


def test_loss_parameters_are_flagged():
    x = cp.Variable(N)
    b = cp.Parameter(M, value=B)
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b) + cp.norm1(x))))
    assert s.smooth_params
    b.value = 2 * B
    assert np.allclose(s.smooth[0].r.b(), -2 * B)


def test_weights_are_per_coordinate():
    x = cp.Variable(N)
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(x) + W @ cvxpar.par(x, RIDGE))))
    psi, lam = assemble.build_par(s, 1.0, "")
    assert psi == RIDGE
    np.testing.assert_allclose(lam, W)


# ---------------------------------------------------------------------------- constraints
def _constraints(problem):
    return assemble.build_constraints(parse(problem))


def test_bounds_from_constraints_and_attributes():
    x = cp.Variable(N, bounds=[-2.0, 3.0])
    got = _constraints(cp.Problem(cp.Minimize(cp.sum_squares(x)), [x >= -1.0, x <= np.arange(N)]))
    assert len(got) == 1 and isinstance(got[0], C.Box)
    assert got[0].lower == -1.0
    np.testing.assert_array_equal(got[0].upper, np.minimum(np.arange(N), 3.0))


def test_nonneg_attribute_and_simplex():
    x = cp.Variable(N, nonneg=True)
    assert isinstance(_constraints(cp.Problem(cp.Minimize(cp.sum_squares(x))))[0], C.NonNeg)
    got = _constraints(cp.Problem(cp.Minimize(cp.sum_squares(x)), [2 * cp.sum(x) == 3.0]))
    assert isinstance(got[0], C.Simplex) and got[0].total == pytest.approx(1.5)
    y = cp.Variable(N)
    got = _constraints(cp.Problem(cp.Minimize(cp.sum_squares(y)), [y >= 0, cp.sum(y) == 1]))
    assert len(got) == 1 and isinstance(got[0], C.Simplex) and got[0].total == 1.0


def test_linear_constraints():
    x = cp.Variable(N)
    G = RNG.standard_normal((3, N))
    got = _constraints(cp.Problem(cp.Minimize(cp.sum_squares(x)), [G @ x <= 1.0, x[0] + x[1] == 2, x <= 5]))
    box, lin = got
    assert isinstance(box, C.Box) and box.upper == 5.0
    assert isinstance(lin, C.Linear)
    np.testing.assert_allclose(lin.A_ub, G)
    np.testing.assert_allclose(lin.b_ub, np.ones(3))
    np.testing.assert_allclose(lin.A_eq, [[1.0, 1.0, 0, 0, 0, 0]])
    np.testing.assert_allclose(lin.b_eq, [2.0])


def test_empty_box_is_infeasible():
    x = cp.Variable(N)
    assert _constraints(cp.Problem(cp.Minimize(cp.sum_squares(x)), [x >= 1, x <= 0])) == "infeasible"


def test_affine_reader_matches_cvxpy():
    x = cp.Variable(N)
    exprs = [
        A @ x - B,
        -cp.multiply(Y, A @ x),
        (A @ x) / 2 + 1,
        x @ A.T,
        cp.sum(x) - 3,
        cp.hstack([x[0], 2 * x[2:4].sum()]),
        sp.csr_matrix(A) @ x,
        W @ x,
    ]
    v = RNG.standard_normal(N)
    for e in exprs:
        r = affine(e, x)
        Amat = r.A()
        Amat = Amat.toarray() if sp.issparse(Amat) else Amat
        x.value = v
        np.testing.assert_allclose(Amat @ v + r.b(), np.ravel(e.value), atol=1e-12, err_msg=str(e))


# ---------------------------------------------------------------------------- refusals
def _refusal(problem) -> UnsupportedProblemError:
    with pytest.raises(UnsupportedProblemError) as info:
        s = parse(problem)
        loss = assemble.build_loss(s, alternative(problem))
        assemble.build_par(s, loss.scale, alternative(problem))
    return info.value


@pytest.mark.parametrize(
    "make, culprit, hint",
    [
        (lambda x: cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.exp(x[0]))), "exp", "CLARABEL"),
        (lambda x: cp.Problem(cp.Minimize(cp.norm2(A @ x - B))), "Pnorm", "CLARABEL"),
        (lambda x: cp.Problem(cp.Minimize(cp.sum_squares(x)), [cp.norm2(x) <= 1]), "<= 1", "CLARABEL"),
        (lambda x: cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.norm1(A @ x - 1))), "norm1", "CLARABEL"),
        (lambda x: cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.norm1(cp.square(x)))), "power", "CLARABEL"),
        (
            lambda x: cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.sum(cvxpar.par(A @ x, MCP)))),
            "par",
            "cvxpar.reference",
        ),
    ],
)
def test_unsupported_problems_name_the_culprit(make, culprit, hint):
    err = _refusal(make(cp.Variable(N)))
    assert isinstance(err, cp.error.SolverError) and isinstance(err, ValueError)
    assert culprit.lower() in str(err).lower()
    assert hint in str(err)


def test_two_variables_refused():
    x, z = cp.Variable(N), cp.Variable(N)
    err = _refusal(cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.sum_squares(z))))
    assert "2 variables" in str(err)
    assert "one cp.Variable" in str(err) and "or The" not in str(err)
    assert str(err).rstrip().endswith("instead.")  # two whole sentences: the reason, then the alternative


@pytest.mark.parametrize(
    "make",
    [
        lambda x, G, h: cp.Problem(cp.Minimize(cp.sum_squares(G @ x - h) + cp.norm_inf(x))),
        lambda x, G, h: cp.Problem(cp.Minimize(cp.sum_squares(x)), [cp.norm2(G @ x - h) <= 1]),
        lambda x, G, h: cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.sum(cvxpar.par(G @ x, RIDGE)))),
        lambda x, G, h: cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.exp(G[0] @ x))),
    ],
)
def test_refusals_print_shapes_not_matrices(make):
    G, h = RNG.standard_normal((200, N)), RNG.standard_normal(200)
    err = _refusal(make(cp.Variable(N), G, h))
    message = str(err)
    assert "[[" not in message and len(re.findall(r"\d\.\d\d", message)) == 0, message
    assert len(message) < 600, message


def test_integer_variable_refused_with_scip_hint():
    x = cp.Variable(N, integer=True)
    err = _refusal(cp.Problem(cp.Minimize(cp.sum_squares(x))))
    assert "integer" in str(err) and "SCIP" in str(err)


def test_negative_weight_refused():
    x = cp.Variable(N)
    lam = cp.Parameter(value=-1.0)
    err = _refusal(cp.Problem(cp.Minimize(cp.sum_squares(x) + lam * cp.norm1(x))))
    assert "norm1" in str(err) and "negative" in str(err)


def test_incompatible_per_coordinate_weights_refused():
    x = cp.Variable(N)
    err = _refusal(cp.Problem(cp.Minimize(cp.sum_squares(x) + W @ cp.abs(x) + cp.sum(cvxpar.par(x, RIDGE)))))
    assert "multiples" in str(err)


def test_parameters_in_constraints_are_reread():
    """The assembled constraint set follows every Parameter in the constraints (bounds, simplex total, rows)."""
    x = cp.Variable(N)
    ub, total, h = cp.Parameter(value=0.3), cp.Parameter(value=2.0), cp.Parameter(value=1.0)
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(x)), [x >= 0, cp.sum(x) == total]))
    assert assemble.build_constraints(s)[0].total == 2.0
    total.value = 0.5
    assert assemble.build_constraints(s)[0].total == 0.5
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(x)), [x <= ub, ub >= -x, A[:2] @ x <= h]))
    for u, hv in ((0.3, 1.0), (0.1, -3.0)):
        ub.value, h.value = u, hv
        box, rows = assemble.build_constraints(s)
        np.testing.assert_array_equal(np.broadcast_to(box.upper, (N,)), np.full(N, u))
        np.testing.assert_array_equal(np.broadcast_to(box.lower, (N,)), np.full(N, -u))
        np.testing.assert_array_equal(rows.b_ub, [hv, hv])


@pytest.mark.parametrize("a, c", [(2.0, 0.3), (0.5, -1.0), (-1.0, 0.0), (-3.0, 0.7)])
@pytest.mark.parametrize("psi", [RIDGE, MCP, cvxpar.PAR([-0.5, 0.0, 0.5], [0.5, 0.0, 0.5], -np.inf, np.inf)])
def test_compose_is_psi_of_the_affine_map(psi, a, c):
    """compose(psi, a, c)(u) == psi(a u + c), also outside a hard domain (+inf) and at every breakpoint."""
    composed = assemble.compose(psi, a, c)
    u = np.concatenate([RNG.uniform(-3, 3, 200), (psi.breakpoints - c) / a])
    np.testing.assert_allclose(composed(u), psi(a * u + c), rtol=1e-12, atol=1e-12)
    assert composed.curvature == psi.curvature


def test_pars_of_selections_and_stacks_become_per_coordinate_weights():
    x = cp.Variable(N)
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(x) + 2 * cp.sum(cvxpar.par(x[:3], RIDGE)))))
    psi, lam = assemble.build_par(s, 1.0, "")
    assert psi == RIDGE
    np.testing.assert_array_equal(lam, [2, 2, 2, 0, 0, 0])
    s = parse(cp.Problem(cp.Minimize(cp.sum_squares(x) + cp.sum(cvxpar.par(cp.hstack([x, 2 * x]), RIDGE)))))
    psi, lam = assemble.build_par(s, 1.0, "")
    v = RNG.uniform(-2, 2, N)
    assert float(np.sum(lam * psi(v))) == pytest.approx(float(np.sum(RIDGE(v) + RIDGE(2 * v))), rel=1e-12)
