"""Small data sets shipped with cvxpar (no download, no scikit-learn needed).

- :func:`load_diabetes`: the diabetes data of Efron et al. (2004), 442 x 10, the same numbers as
  :func:`sklearn.datasets.load_diabetes` (BSD-3, see ``LICENSE-diabetes.txt`` beside this file).
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

#: The ten baseline variables of the diabetes data, in column order.
DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def load_diabetes(scaled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The diabetes data ``(X, y)``: X of shape (442, 10) (columns :data:`DIABETES_FEATURES`), y of shape (442,).

    ``scaled=True`` centers each column of X and scales it to unit Euclidean norm, exactly as
    ``sklearn.datasets.load_diabetes(scaled=True)``; ``scaled=False`` gives the raw values.
    y (disease progression one year after baseline) is never scaled.
    """
    with resources.files(__name__).joinpath("diabetes.csv.gz").open("rb") as raw, gzip.open(raw, "rt") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1)
    X, y = table[:, :-1], table[:, -1]
    if scaled:
        X = X - X.mean(axis=0)
        X /= np.sqrt((X * X).sum(axis=0))
    return X, y
