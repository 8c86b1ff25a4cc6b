"""The scikit-learn estimators fit Dask arrays on a LocalCluster (the ``client`` fixture): the same
coefficients as on the NumPy arrays, lazy predictions, and the solve routed to the distributed methods."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from cvxpar.sklearn import PARClassifier, PARRegressor, PARRegressorCV  # noqa: E402

N, D, ROWS = 3000, 6, 600


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(17)
    X = rng.standard_normal((N, D)) + 0.5
    w = rng.choice(np.linspace(-1.0, 1.0, 5), D)
    y = X @ w + 2.0 + 0.3 * rng.standard_normal(N)
    labels = np.where(X @ w + 0.4 + rng.standard_normal(N) > 0, "yes", "no")
    return X, y, labels, rng.uniform(0.5, 2.0, N)


def _lazy(v):
    return da.from_array(v, chunks=(ROWS,) + v.shape[1:])


@pytest.mark.parametrize("weighted", [False, True])
def test_the_regressor_fits_dask_arrays_like_numpy(client, data, weighted):
    X, y, _, sw = data
    sw = sw if weighted else None
    kw = dict(psi="ridge", grid=np.linspace(-1.0, 1.0, 5), alpha=0.05)
    ref = PARRegressor(**kw).fit(X, y, sample_weight=sw)
    est = PARRegressor(**kw).fit(_lazy(X), _lazy(y), sample_weight=None if sw is None else _lazy(sw))
    assert est.status_ == ref.status_ == "optimal" and est.n_features_in_ == D
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-7)
    assert est.intercept_ == pytest.approx(ref.intercept_, rel=1e-9)
    pred = est.predict(_lazy(X))
    assert isinstance(pred, da.Array)  # lazy, like dask-ml's estimators
    np.testing.assert_allclose(pred.compute(), ref.predict(X), rtol=1e-9, atol=1e-9)


def test_the_classifier_fits_dask_arrays_with_proximal_newton(client, data):
    X, _, labels, _ = data
    kw = dict(psi="l1", alpha=0.01)
    ref = PARClassifier(**kw).fit(X, labels)
    est = PARClassifier(**kw).fit(_lazy(X), _lazy(labels))
    assert est.status_ == ref.status_ == "optimal" and list(est.classes_) == ["no", "yes"]
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=0, atol=1e-7)
    assert (est.predict(_lazy(X)).compute() == ref.predict(X)).all()
    np.testing.assert_allclose(est.predict_proba(_lazy(X)).compute(), ref.predict_proba(X), atol=1e-8)


def test_the_classifier_with_linear_rows_fits_dask_arrays_like_clarabel(client, data):
    """A Simplex and a budget row on w with the intercept free, on Dask data (proximal Newton with the rows in its
    exact step), against CVXPY + Clarabel on the NumPy data."""
    import cvxpy as cp

    from cvxpar.constraints import Linear, NonNeg, Simplex

    X, _, labels, _ = data
    s = np.where(labels == "yes", 1.0, -1.0)
    diff = np.eye(1, D) - np.eye(1, D, k=1)
    for cons, extra in ((Simplex(1.5), lambda w: [w >= 0, cp.sum(w) == 1.5]),
                        ([NonNeg(), Linear(A_ub=np.ones((1, D)), b_ub=[1.0], A_eq=diff, b_eq=[0.2])],
                         lambda w: [w >= 0, cp.sum(w) <= 1.0, diff @ w == 0.2])):
        est = PARClassifier(psi="l1", alpha=0.01, constraints=cons).fit(_lazy(X), _lazy(labels))
        w, c = cp.Variable(D), cp.Variable()
        objective = cp.sum(cp.logistic(-cp.multiply(s, X @ w + c))) / N + 0.01 * cp.norm1(w)
        cp.Problem(cp.Minimize(objective), extra(w)).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12,
                                                            tol_gap_rel=1e-12, tol_feas=1e-12)
        assert est.status_ == "optimal"
        np.testing.assert_allclose(est.coef_[0], w.value, atol=1e-5)
        assert est.intercept_[0] == pytest.approx(c.value, abs=1e-5)


def _count_passes(monkeypatch):
    """The passes over the row chunks made by cvxpar.distributed (its one reduction primitive)."""
    from cvxpar.distributed import _reduce

    calls, original = [], _reduce.row_chunk_sum

    def counting(*args, **kwargs):
        calls.append(args[2].__name__)
        return original(*args, **kwargs)

    monkeypatch.setattr(_reduce, "row_chunk_sum", counting)
    monkeypatch.setattr("cvxpar.distributed.loss.row_chunk_sum", counting)
    return calls


@pytest.mark.parametrize("splitter, fit_intercept", [("kfold", True), ("shuffle", True), ("kfold", False)])
def test_the_cross_validated_regressor_fits_dask_arrays_like_numpy(client, data, monkeypatch, splitter, fit_intercept):
    from sklearn.model_selection import KFold, ShuffleSplit

    X, y, _, _ = data
    cv = (KFold(4, shuffle=True, random_state=0) if splitter == "kfold"  # K groups of rows
          else ShuffleSplit(3, test_size=0.25, random_state=0))  # overlapping folds, rows in no test set
    kw = dict(psi="ridge", grid=np.linspace(-1.0, 1.0, 5), alphas=8, eps=1e-2, cv=cv, fit_intercept=fit_intercept)
    ref = PARRegressorCV(**kw).fit(X, y)
    passes = _count_passes(monkeypatch)
    est = PARRegressorCV(**kw).fit(_lazy(X), _lazy(y))
    # the Grams of every fold in one pass, then the selected model's certificate on the distributed data (its
    # value and gradient, and the conjugate at a rescaled dual point when the gap needs one)
    assert passes[0] == "_chunk_group_grams" and passes[1:] in (["_chunk_values"], ["_chunk_values"] * 2)
    assert est.n_features_in_ == D and est.status_ == ref.status_ == "optimal"
    np.testing.assert_allclose(est.alphas_, ref.alphas_, rtol=1e-12)
    np.testing.assert_allclose(est.mse_path_, ref.mse_path_, rtol=1e-9)
    assert np.flatnonzero(est.alphas_ == est.alpha_).tolist() == np.flatnonzero(ref.alphas_ == ref.alpha_).tolist()
    np.testing.assert_allclose(est.coef_path_, ref.coef_path_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-7)
    assert est.intercept_ == pytest.approx(ref.intercept_, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(est.predict(_lazy(X)).compute(), ref.predict(X), rtol=1e-9, atol=1e-9)


def test_the_cross_validated_regressor_selects_by_quantization_rate_on_dask_arrays(client, data):
    X, y, _, _ = data
    kw = dict(psi="l1", alphas=6, target_quantization_rate=0.5)
    ref = PARRegressorCV(**kw).fit(X, y)
    est = PARRegressorCV(**kw).fit(_lazy(X), _lazy(y))
    assert est.mse_path_ is None and est.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(est.quantization_rate_path_, ref.quantization_rate_path_)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-7)


def test_wrong_dask_inputs_get_clear_errors(client, data):
    X, y, labels, _ = data
    with pytest.raises(ValueError, match="y must be a vector of length n_samples = 3000"):
        PARRegressor().fit(_lazy(X), y[:-1])
    with pytest.raises(ValueError, match="y must be a vector of length n_samples = 3000"):
        PARRegressorCV(cv=3).fit(_lazy(X), y[:-1])
    wide = da.zeros((10, 2001), chunks=(5, 2001))
    with pytest.raises(ValueError, match="at most 2000 features \\(got 2001\\)"):
        PARRegressorCV(cv=2).fit(wide, np.zeros(10))
    with pytest.raises(ValueError, match="exactly 2 classes"):
        PARClassifier().fit(_lazy(X), _lazy(np.arange(N) % 3))
    est = PARRegressor().fit(_lazy(X), _lazy(y))
    with pytest.raises(ValueError, match="X has 5 features, but PARRegressor is expecting 6"):
        est.predict(_lazy(X[:, :5]))
