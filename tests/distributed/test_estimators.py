"""The scikit-learn estimators fit Dask arrays on a LocalCluster (the ``client`` fixture): the same
coefficients as on the NumPy arrays, lazy predictions, and the solve routed to the distributed methods."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from cvxpar.sklearn import PARClassifier, PARRegressor  # noqa: E402

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


def test_wrong_dask_inputs_get_clear_errors(client, data):
    X, y, labels, _ = data
    with pytest.raises(ValueError, match="y must be a vector of length n_samples = 3000"):
        PARRegressor().fit(_lazy(X), y[:-1])
    with pytest.raises(ValueError, match="exactly 2 classes"):
        PARClassifier().fit(_lazy(X), _lazy(np.arange(N) % 3))
    est = PARRegressor().fit(_lazy(X), _lazy(y))
    with pytest.raises(ValueError, match="X has 5 features, but PARRegressor is expecting 6"):
        est.predict(_lazy(X[:, :5]))
