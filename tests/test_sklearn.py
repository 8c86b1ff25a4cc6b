"""The scikit-learn estimators: conventions (check_estimator) and independent references.

References: scikit-learn's Lasso / LassoCV / LogisticRegression where the PAR is |x|, and a
direct CVXPY model (psi written as the max of its affine pieces, independent of cvxpar's atom)
for PARs on a grid and for constraints.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV, LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import cvxpar
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.data import load_diabetes
from cvxpar.sklearn import PARClassifier, PARRegressor, PARRegressorCV, alpha_max, make_psi

_GRID = cvxpar.grids.uniform(0.25, 9)


def _expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, PARClassifier) and isinstance(estimator.constraints, Simplex):
        return {
            "check_classifiers_train": (
                "the Simplex keeps the coefficients nonnegative with sum 1: the check's blobs need a negative "
                "weight for its 83% training accuracy (the fit itself is checked against CVXPY)"
            )
        }
    # A nonconvex psi gives a stationary point, not a global minimum, so weighted and repeated data could end at
    # different ones; on the check's data they do not (weights and repetition give one objective, the solver is
    # deterministic from the same start): the check passes and is kept, not expected to fail.
    return {}


@parametrize_with_checks(
    [
        PARRegressor(),
        PARClassifier(),
        PARRegressorCV(alphas=5, cv=3),
        PARRegressor(psi="mcp", grid=_GRID, alpha=0.01),  # nonconvex
        PARClassifier(psi="parq", grid=_GRID, constraints=Box(-0.5, 2.0)),  # walls + a box, free intercept
        PARClassifier(psi="ridge", grid=_GRID, constraints=Simplex(1.0)),  # linear rows with the logistic loss
        PARRegressor(psi="ridge", grid=_GRID, alpha=0.01, constraints=Simplex(1.0)),  # rows on sparse X too
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_conventions(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


def _psi_cvxpy(w, psi):
    """sum_i psi(w_i) for a convex PAR, as the max of its affine pieces, plus its walls (no cvxpar atom)."""
    a, b = psi.max_affine()
    pieces = [ak * w + bk for ak, bk in zip(a, b, strict=True)]
    total = cp.sum(cp.maximum(*pieces) if len(pieces) > 1 else pieces[0])
    lo, hi = psi.domain
    walls = [w >= lo] if np.isfinite(lo) else []
    walls += [w <= hi] if np.isfinite(hi) else []
    return total, walls


# ----------------------------------------------------------------------------- regression
@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
def test_l1_regressor_matches_lasso_on_diabetes(diabetes, alpha):
    X, y = diabetes
    ref = Lasso(alpha=alpha, tol=1e-12, max_iter=1_000_000).fit(X, y)
    est = PARRegressor(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert est.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    assert est.status_ == "optimal"
    assert est.quantization_rate_ == pytest.approx(np.mean(np.abs(est.coef_) <= 1e-8))
    assert est.n_features_in_ == 10


def test_regressor_sample_weight_and_no_intercept_match_lasso(diabetes):
    X, y = diabetes
    sw = np.random.default_rng(0).uniform(0.2, 3.0, size=y.size)
    ref = Lasso(alpha=0.05, tol=1e-12, max_iter=1_000_000).fit(X, y, sample_weight=sw)
    est = PARRegressor(alpha=0.05).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    assert est.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    ref = Lasso(alpha=0.05, fit_intercept=False, tol=1e-12, max_iter=1_000_000).fit(X, y - 100)
    est = PARRegressor(alpha=0.05, fit_intercept=False).fit(X, y - 100)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    assert est.intercept_ == 0.0


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_regressor_matches_lasso_and_stays_sparse(fit_intercept):
    rng = np.random.default_rng(3)
    X = sp.random(200, 30, density=0.1, format="csr", random_state=3) * 5
    y = X @ rng.uniform(-2, 2, 30) + 1.5 + 0.1 * rng.standard_normal(200)
    sw = rng.uniform(0.5, 2.0, 200)
    kw = dict(alpha=0.01, fit_intercept=fit_intercept)
    ref = Lasso(**kw, tol=1e-12, max_iter=1_000_000).fit(X, y, sample_weight=sw)
    est = PARRegressor(**kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    assert est.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    np.testing.assert_allclose(
        est.predict(X), PARRegressor(**kw).fit(X.toarray(), y, sample_weight=sw).predict(X), atol=1e-6
    )


def test_nonneg_regressor_matches_positive_lasso(diabetes):
    X, y = diabetes
    ref = Lasso(alpha=0.1, positive=True, tol=1e-12, max_iter=1_000_000).fit(X, y)
    est = PARRegressor(alpha=0.1, constraints=NonNeg()).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    assert est.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)


@pytest.mark.parametrize("family", ["ridge", "parq", "l1"])
def test_grid_regressor_with_box_matches_cvxpy(family):
    """A PAR on a grid, a Box on w and a free intercept, against CVXPY on the uncentered data."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 8)) + 2.0
    y = X @ rng.uniform(-1, 1, 8) + 3.0 + 0.1 * rng.standard_normal(60)
    grid = cvxpar.grids.uniform(0.25, 9)
    alpha, lower, upper = 0.05, -0.6, 0.8
    est = PARRegressor(psi=family, grid=grid, alpha=alpha, constraints=Box(lower, upper)).fit(X, y)

    w, c = cp.Variable(8), cp.Variable()
    penalty, walls = _psi_cvxpy(w, make_psi(family, grid))
    prob = cp.Problem(
        cp.Minimize(cp.sum_squares(y - X @ w - c) / (2 * 60) + alpha * penalty), [w >= lower, w <= upper, *walls]
    )
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    obj = np.sum((y - est.predict(X)) ** 2) / 120 + alpha * np.sum(make_psi(family, grid)(est.coef_))
    assert obj <= prob.value + 1e-7
    np.testing.assert_allclose(est.coef_, w.value, atol=1e-4)
    assert est.quantization_rate_ == cvxpar.quantization_rate(est.coef_, make_psi(family, grid))


def test_simplex_regressor_matches_cvxpy():
    """A Simplex on w leaves the centering exact: the intercept is still ybar - xbar^T w."""
    pytest.importorskip("cvxpar.solvers.admm", reason="Simplex constraints are solved by ADMM")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6)) + 1.0
    y = X @ np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0]) + 2.0 + 0.1 * rng.standard_normal(80)
    grid = cvxpar.grids.uniform(0.25, 9)
    est = PARRegressor(psi="ridge", grid=grid, alpha=0.01, constraints=Simplex(1.0)).fit(X, y)
    w, c = cp.Variable(6), cp.Variable()
    penalty, _ = _psi_cvxpy(w, cvxpar.pars.ridge(grid))
    prob = cp.Problem(cp.Minimize(cp.sum_squares(y - X @ w - c) / 160 + 0.01 * penalty), [w >= 0, cp.sum(w) == 1])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert est.status_ == "optimal"
    np.testing.assert_allclose(est.coef_, w.value, atol=1e-5)
    assert est.intercept_ == pytest.approx(c.value, abs=1e-5)


def test_psi_choices_and_messages():
    assert make_psi("l1") == cvxpar.pars.l1()
    grid = [-1.0, 0.0, 1.0]
    assert make_psi("ridge", grid) == cvxpar.pars.ridge(grid)
    psi = cvxpar.pars.mcp(grid, gamma=2.0)
    assert make_psi(psi) is psi
    assert make_psi("mcp", grid) == cvxpar.pars.mcp(grid, gamma=3.0)
    with pytest.raises(ValueError, match="needs a quantization grid"):
        PARRegressor(psi="ridge").fit(np.eye(3), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="family names"):
        PARRegressor(psi="lasso").fit(np.eye(3), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="already a PAR"):
        PARRegressor(psi=psi, grid=grid).fit(np.eye(3), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="alpha must be"):
        PARRegressor(alpha=-1.0).fit(np.eye(3), [1.0, 2.0, 3.0])


def test_warm_start_and_convergence_warning(diabetes):
    X, y = diabetes
    est = PARRegressor(psi="ridge", grid=cvxpar.grids.uniform(50.0, 21), alpha=0.5, warm_start=True).fit(X, y)
    first, iters = est.coef_.copy(), est.n_iter_
    est.fit(X, y)
    np.testing.assert_allclose(est.coef_, first, atol=1e-8)
    assert est.n_iter_ <= iters
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        PARRegressor(alpha=0.001, method="fista", max_iter=1).fit(X, y)


def test_pipeline_and_grid_search(diabetes):
    X, y = load_diabetes(scaled=False)
    pipe = make_pipeline(StandardScaler(), PARRegressor(psi="ridge", grid=cvxpar.grids.uniform(5.0, 11)))
    search = GridSearchCV(pipe, {"parregressor__alpha": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    assert search.best_params_["parregressor__alpha"] in (0.1, 1.0, 10.0)
    assert search.score(X, y) > 0.4
    clf = GridSearchCV(make_pipeline(StandardScaler(), PARClassifier()), {"parclassifier__alpha": [1e-3, 1e-2]}, cv=3)
    clf.fit(X, y > np.median(y))
    assert clf.score(X, y > np.median(y)) > 0.7


# ----------------------------------------------------------------------------- path / CV
def test_regressor_cv_matches_lasso_cv(diabetes):
    X, y = diabetes
    folds = KFold(5, shuffle=True, random_state=0)
    ours = PARRegressorCV(alphas=12, cv=folds).fit(X, y)
    ref = LassoCV(alphas=12, cv=folds, tol=1e-12, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-10)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(ref.alpha_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    assert ours.coef_path_.shape == (10, 12)
    # alpha_max is exactly where the Lasso's solution leaves 0
    assert np.all(ours.coef_path_[:, 0] == 0)
    top = alpha_max(X - X.mean(0), y - y.mean(), y.size, cvxpar.pars.l1())
    assert np.any(PARRegressor(alpha=0.99 * top).fit(X, y).coef_ != 0)


def test_regressor_cv_by_target_quantization_rate(diabetes):
    X, y = diabetes
    grid = cvxpar.grids.uniform(100.0, 15)
    est = PARRegressorCV(psi="ridge", grid=grid, alphas=15, target_quantization_rate=0.7).fit(X, y)
    assert est.mse_path_ is None
    i = int(np.flatnonzero(est.alphas_ == est.alpha_)[0])
    assert est.quantization_rate_ >= 0.7
    assert est.quantization_rate_path_[i] == est.quantization_rate_
    assert np.all(est.quantization_rate_path_[i + 1 :] < 0.7)
    np.testing.assert_allclose(
        est.coef_, PARRegressor(psi="ridge", grid=grid, alpha=est.alpha_).fit(X, y).coef_, atol=1e-6
    )
    with pytest.warns(UserWarning, match="no alpha on the path"):
        PARRegressorCV(alphas=[1e-3, 1e-4], target_quantization_rate=1.0).fit(X, y)


def test_regressor_cv_verbose_counts_every_solve(diabetes, capsys, monkeypatch):
    import cvxpar._progress as progress

    monkeypatch.setattr(progress, "_tqdm", lambda: None)  # the plain-line form, whatever is installed
    X, y = diabetes
    quiet = PARRegressorCV(alphas=4, cv=3).fit(X, y)
    assert capsys.readouterr().err == ""
    shown = PARRegressorCV(alphas=4, cv=3, verbose=True).fit(X, y)
    np.testing.assert_array_equal(shown.coef_, quiet.coef_)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"PARRegressorCV: {i}/16 solves done" for i in range(1, 17)]  # 4 alphas x (all data + 3 folds)
    PARRegressorCV(alphas=4, target_quantization_rate=0.5, verbose=True).fit(X, y)
    assert capsys.readouterr().err.splitlines()[-1] == "PARRegressorCV: 4/4 solves done"  # no folds


# ----------------------------------------------------------------------------- classification
@pytest.fixture(scope="module")
def binary():
    X, y = load_diabetes()
    return X * 10, np.where(y > 140, "sick", "well")


def test_l1_classifier_matches_logistic_regression(binary):
    X, labels = binary
    n, alpha = X.shape[0], 0.02
    ours = PARClassifier(alpha=alpha).fit(X, labels)
    ref = LogisticRegression(C=1 / (alpha * n), l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=100_000).fit(X, labels)
    np.testing.assert_array_equal(ours.classes_, ["sick", "well"])
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert np.mean(ours.predict(X) == ref.predict(X)) > 0.99


def _cvxpy_logistic(X, s, alpha, psi, extra=lambda w: [], intercept=True):
    n, d = X.shape
    w, c = cp.Variable(d), cp.Variable()
    penalty, walls = _psi_cvxpy(w, psi)
    prob = cp.Problem(
        cp.Minimize(cp.sum(cp.logistic(-cp.multiply(s, X @ w + (c if intercept else 0)))) / n + alpha * penalty),
        walls + extra(w),
    )
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return (w.value, c.value) if intercept else (w.value,)


@pytest.mark.parametrize("constraints", [None, Simplex(2.0)], ids=["none", "simplex"])
def test_classifier_walls_do_not_box_the_intercept(constraints):
    """PARQ's psi has hard walls at the grid's ends; the intercept (here about 3) must stay free."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((120, 5))
    s = np.where(X @ np.array([1.0, -1.0, 0.5, 0.0, 0.0]) + 3.0 + rng.logistic(size=120) > 0, 1, -1)
    grid = cvxpar.grids.uniform(0.5, 5)  # [-1, 1]
    est = PARClassifier(psi="parq", grid=grid, alpha=0.01, constraints=constraints).fit(X, s)

    def extra(w):
        return [] if constraints is None else [w >= 0, cp.sum(w) == 2.0]

    w_ref, c_ref = _cvxpy_logistic(X, s, 0.01, cvxpar.pars.parq(grid), extra)
    assert est.intercept_[0] > 1.0
    np.testing.assert_allclose(est.coef_[0], w_ref, atol=1e-4)
    assert est.intercept_[0] == pytest.approx(c_ref, abs=1e-4)
    assert est.coef_.min() >= -1 - 1e-9 and est.coef_.max() <= 1 + 1e-9


def test_intercept_lifting_keeps_w_constraints_and_frees_c():
    """(w, c) in lifted set  <=>  w in C (and w in psi's domain), for any c."""
    from cvxpar.sklearn import _free_last_coordinate

    psi = cvxpar.pars.parq([-1.0, 0.0, 1.0])
    psi_z, lifted = _free_last_coordinate(psi, [Simplex(2.0), Box(-np.inf, 0.8)], 3)
    assert np.isfinite(psi_z.slopes).all() and np.array_equal(psi_z.breakpoints, psi.breakpoints)
    np.testing.assert_allclose(psi_z(np.linspace(-1, 1, 9)), psi(np.linspace(-1, 1, 9)))
    lifted_set = cvxpar.constraints.FeasibleSet(lifted, 4)
    assert lifted_set.A_ub is None
    np.testing.assert_array_equal(lifted_set.lower, [0, 0, 0, -np.inf])
    np.testing.assert_array_equal(lifted_set.upper, [0.8, 0.8, 0.8, np.inf])
    np.testing.assert_array_equal(lifted_set.A_eq, [[1, 1, 1, 0]])
    np.testing.assert_array_equal(lifted_set.b_eq, [2.0])
    assert _free_last_coordinate(cvxpar.pars.l1(), None, 3) == (cvxpar.pars.l1(), None)


def test_classifier_rejects_multiclass_and_one_class():
    X = np.random.default_rng(0).standard_normal((9, 2))
    with pytest.raises(ValueError, match="Only binary classification"):
        PARClassifier().fit(X, np.arange(9) % 3)
    with pytest.raises(ValueError, match="one class"):
        PARClassifier().fit(X, np.ones(9))


# ----------------------------------------------------------------------------- optional extra
def test_import_cvxpar_does_not_import_sklearn():
    code = "import sys, cvxpar; cvxpar.PAR; assert 'sklearn' not in sys.modules, 'sklearn imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_clear_error_without_sklearn():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import cvxpar.sklearn\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert 'pip install "cvxpar[sklearn]"' in out


def test_no_warnings_on_a_plain_fit(diabetes):
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PARRegressor(psi="ridge", grid=cvxpar.grids.uniform(50.0, 21), alpha=0.1).fit(X, y)


@pytest.mark.parametrize("est", [PARRegressor(), PARRegressorCV(cv=2)])
def test_regressor_with_string_targets_says_y_must_be_numeric(est):
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match=f"{type(est).__name__} is a regressor: y must be numeric.*PARClassifier"):
        est.fit(X, np.array(["a", "b"] * 10))


def test_regressor_accepts_an_object_array_of_numbers():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    got = PARRegressor(alpha=0.1).fit(X, y.astype(object)).coef_
    np.testing.assert_array_equal(got, PARRegressor(alpha=0.1).fit(X, y).coef_)


# ----------------------------------------------------------------------------- linear rows (Simplex, Linear)
def _rows(d: int) -> dict:
    """Every kind of linear row the estimators take, for d >= 5 coefficients."""
    diff = np.zeros((2, d))
    diff[0, :2], diff[1, 2:5] = [1.0, -1.0], 1.0
    return {
        "simplex": (Simplex(2.0), lambda w: [w >= 0, cp.sum(w) == 2.0]),
        "equality": (Linear(A_eq=diff[:1], b_eq=[0.5]), lambda w: [diff[:1] @ w == 0.5]),
        "inequalities": (Linear(A_ub=diff, b_ub=[0.8, 0.3]), lambda w: [diff @ w <= [0.8, 0.3]]),
        "sign + budget": ([NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[1.0])], lambda w: [w >= 0, cp.sum(w) <= 1.0]),
        "box + equality + inequality": (
            [Box(-0.6, 1.5), Linear(A_eq=diff[:1], b_eq=[0.5], A_ub=diff[1:], b_ub=[0.3])],
            lambda w: [w >= -0.6, w <= 1.5, diff[:1] @ w == 0.5, diff[1:] @ w <= 0.3],
        ),
    }


def _logistic_objective(X, s, alpha, psi, w, c) -> float:
    return float(np.mean(np.logaddexp(0.0, -s * (X @ w + c))) + alpha * np.sum(psi(w)))


@pytest.mark.parametrize("kind", list(_rows(5)))
@pytest.mark.parametrize("family", ["parq", "ridge", "l1"])
def test_classifier_with_linear_rows_matches_cvxpy(kind, family):
    """Every linear row on w with a free intercept (psi's walls too stay off it), against CVXPY + Clarabel."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((150, 6)) + 0.5
    s = np.where(X @ np.array([1.5, -1.0, 0.5, 0.0, 0.0, 0.3]) + 2.0 + rng.logistic(size=150) > 0, 1, -1)
    grid = cvxpar.grids.uniform(0.5, 5)  # [-1, 1]; parq's walls there
    psi = make_psi(family, None if family == "l1" else grid)
    constraints, extra = _rows(6)[kind]
    est = PARClassifier(psi=family, grid=None if family == "l1" else grid, alpha=0.01, constraints=constraints)
    est.fit(X, s)
    w_ref, c_ref = _cvxpy_logistic(X, s, 0.01, psi, extra)
    assert est.status_ == "optimal"
    assert _logistic_objective(X, s, 0.01, psi, est.coef_[0], est.intercept_[0]) <= (
        _logistic_objective(X, s, 0.01, psi, w_ref, c_ref) + 1e-8)
    np.testing.assert_allclose(est.coef_[0], w_ref, atol=1e-4)
    assert est.intercept_[0] == pytest.approx(c_ref, abs=1e-4)
    assert cvxpar.constraints.FeasibleSet(constraints, 6).violation(est.coef_[0]) <= 1e-9


def test_classifier_with_rows_and_no_intercept_matches_cvxpy():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((120, 6))
    s = np.where(X @ np.array([1.0, -1.0, 0.5, 0.0, 0.0, 0.3]) + rng.logistic(size=120) > 0, 1, -1)
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    constraints, extra = _rows(6)["inequalities"]
    est = PARClassifier(psi=psi, alpha=0.02, constraints=constraints, fit_intercept=False).fit(X, s)
    w, = _cvxpy_logistic(X, s, 0.02, psi, lambda w: extra(w), intercept=False)
    assert est.status_ == "optimal" and est.intercept_[0] == 0.0
    np.testing.assert_allclose(est.coef_[0], w, atol=1e-4)


def _cvxpy_weighted_least_squares(X, y, sw, alpha, psi, extra, fit_intercept=True):
    n, d = X.shape
    w, c = cp.Variable(d), cp.Variable()
    penalty, walls = _psi_cvxpy(w, psi)
    fit = cp.sum(cp.multiply(sw, cp.square(y - X @ w - (c if fit_intercept else 0)))) / (2 * sw.sum())
    prob = cp.Problem(cp.Minimize(fit + alpha * penalty), walls + extra(w))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return w.value, (c.value if fit_intercept else 0.0)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", list(_rows(5)))
def test_sparse_regressor_with_linear_rows_matches_cvxpy(kind, fit_intercept):
    """scipy.sparse X with linear rows (solved on the sparse design [X, 1], intercept free), weighted samples."""
    rng = np.random.default_rng(7)
    X = sp.random(200, 8, density=0.3, format="csr", random_state=7) * 3
    y = X @ np.array([0.8, 0.3, 0.4, 0.2, 0.0, 0.0, -0.3, 0.1]) + 1.5 + 0.05 * rng.standard_normal(200)
    sw = rng.uniform(0.5, 2.0, 200)
    grid = cvxpar.grids.uniform(0.25, 9)
    constraints, extra = _rows(8)[kind]
    est = PARRegressor(psi="ridge", grid=grid, alpha=0.002, constraints=constraints, fit_intercept=fit_intercept)
    est.fit(X, y, sample_weight=sw)
    w, c = _cvxpy_weighted_least_squares(X.toarray(), y, sw, 0.002, cvxpar.pars.ridge(grid), extra, fit_intercept)
    assert est.status_ == "optimal"
    np.testing.assert_allclose(est.coef_, w, atol=1e-5)
    assert est.intercept_ == pytest.approx(c, abs=1e-5)
    assert cvxpar.constraints.FeasibleSet(constraints, 8).violation(est.coef_) <= 1e-9
    dense = PARRegressor(**est.get_params()).fit(X.toarray(), y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, dense.coef_, atol=1e-6)


def test_sparse_regressor_with_rows_warm_starts():
    X = sp.random(100, 6, density=0.4, format="csr", random_state=8)
    y = X @ np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0]) + 1.0
    est = PARRegressor(psi="ridge", grid=_GRID, alpha=0.001, constraints=Simplex(1.0), warm_start=True).fit(X, y)
    first, intercept = est.coef_.copy(), est.intercept_
    est.fit(X, y)
    np.testing.assert_allclose(est.coef_, first, atol=1e-8)
    assert est.intercept_ == pytest.approx(intercept, abs=1e-8)
    assert est.status_ == "optimal"


def test_sparse_regressor_cv_with_rows_matches_cvxpy():
    """The cross-validated path on sparse X with a Simplex: the dense path's folds and mse, and CVXPY at alpha_."""
    rng = np.random.default_rng(9)
    X = sp.random(90, 6, density=0.4, format="csr", random_state=9) * 2
    y = X @ np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0]) + 1.0 + 0.1 * rng.standard_normal(90)
    grid = cvxpar.grids.uniform(0.25, 9)
    kw = dict(psi="ridge", grid=grid, alphas=4, cv=KFold(3), constraints=Simplex(1.0))
    est = PARRegressorCV(**kw).fit(X, y)
    dense = PARRegressorCV(**kw).fit(X.toarray(), y)
    np.testing.assert_allclose(est.alphas_, dense.alphas_, rtol=1e-12)
    np.testing.assert_allclose(est.mse_path_, dense.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(est.quantization_rate_path_, dense.quantization_rate_path_)
    w, c = _cvxpy_weighted_least_squares(X.toarray(), y, np.ones(90), est.alpha_, cvxpar.pars.ridge(grid),
                                         lambda w: [w >= 0, cp.sum(w) == 1.0])
    np.testing.assert_allclose(est.coef_, w, atol=1e-5)
    assert est.intercept_ == pytest.approx(c, abs=1e-5)
    assert est.coef_path_.shape == (6, 4)


def test_one_vs_rest_with_a_simplex_matches_cvxpy():
    """More classes through OneVsRestClassifier: each binary fit keeps the Simplex and matches CVXPY."""
    from sklearn.multiclass import OneVsRestClassifier

    rng = np.random.default_rng(10)
    X = rng.standard_normal((150, 5))
    labels = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((150, 3)), axis=1)
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    ovr = OneVsRestClassifier(PARClassifier(psi=psi, alpha=0.01, constraints=Simplex(2.0))).fit(X, labels)
    for k, est in enumerate(ovr.estimators_):
        w, c = _cvxpy_logistic(X, np.where(labels == k, 1, -1), 0.01, psi, lambda w: [w >= 0, cp.sum(w) == 2.0])
        assert est.status_ == "optimal"
        np.testing.assert_allclose(est.coef_[0], w, atol=1e-4)
        assert est.intercept_[0] == pytest.approx(c, abs=1e-4)
    assert ovr.score(X, labels) > 0.6


def test_rows_with_a_nonconvex_psi_name_what_to_do():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match="PARClassifier with Simplex constraints needs a convex psi.*PARRegressor"):
        PARClassifier(psi="mcp", grid=_GRID, constraints=Simplex(1.0)).fit(X, np.array([0, 1] * 10))
    budget = Linear(A_ub=np.ones((1, 3)), b_ub=[1.0])
    with pytest.raises(ValueError, match="PARRegressor with Linear constraints and a nonconvex psi needs a dense X"):
        PARRegressor(psi="mcp", grid=_GRID, constraints=budget).fit(sp.csr_matrix(X), X[:, 0])
    dense = PARRegressor(psi="mcp", grid=_GRID, alpha=0.01, constraints=budget).fit(X, X[:, 0])
    assert dense.status_ == "stationary"


# ----------------------------------------------------------------------------- sparse X for the classifier
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["none", "simplex", "sign + budget"])
def test_sparse_classifier_matches_cvxpy_and_the_dense_fit(kind, fit_intercept):
    """scipy.sparse X (kept sparse: the design [X, 1], uncentered) gives CVXPY + Clarabel's (w, c), as the dense fit."""
    rng = np.random.default_rng(11)
    dense = rng.standard_normal((160, 6)) * (rng.random((160, 6)) < 0.3) + 0.0
    X = sp.csr_matrix(dense)
    s = np.where(dense @ np.array([1.5, -1.0, 0.5, 0.0, 0.0, 0.3]) + 0.7 + rng.logistic(size=160) > 0, 1, -1)
    grid = cvxpar.grids.uniform(0.5, 5)
    psi = make_psi("ridge", grid)
    constraints, extra = (None, lambda w: []) if kind == "none" else _rows(6)[kind]
    est = PARClassifier(psi="ridge", grid=grid, alpha=0.01, constraints=constraints, fit_intercept=fit_intercept)
    est.fit(X, s)
    ref = _cvxpy_logistic(dense, s, 0.01, psi, extra, intercept=fit_intercept)
    c_ref = ref[1] if fit_intercept else 0.0
    assert est.status_ == "optimal"
    assert _logistic_objective(dense, s, 0.01, psi, est.coef_[0], est.intercept_[0]) <= (
        _logistic_objective(dense, s, 0.01, psi, ref[0], c_ref) + 1e-8)
    np.testing.assert_allclose(est.coef_[0], ref[0], atol=1e-4)
    assert est.intercept_[0] == pytest.approx(c_ref, abs=1e-4)
    dense_fit = clone(est).fit(dense, s)
    np.testing.assert_allclose(est.coef_, dense_fit.coef_, atol=1e-5)
    np.testing.assert_allclose(est.predict_proba(X), dense_fit.predict_proba(dense), atol=1e-5)
    np.testing.assert_array_equal(est.predict(sp.csc_matrix(dense)), est.predict(dense))
