"""FreeGram's bookkeeping: the blocked transpose equals A^T, and a change of more columns than the
fresh product has re-forms A_J A_J^T afresh (the cheaper way) and still equals the direct product."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar.solvers._gram import FreeGram, transposed


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("block", [1, 7, 256])
def test_transposed_equals_the_transpose_and_is_c_contiguous(order, block):
    A = np.asarray(np.random.default_rng(0).standard_normal((13, 50)), order=order)
    T = transposed(A, block=block)
    assert T.flags.c_contiguous
    np.testing.assert_array_equal(T, A.T)
    assert np.shares_memory(T, A) == (order == "F")  # a view only when A^T is already contiguous


def test_a_large_change_of_the_free_set_forms_the_product_afresh_and_matches():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((15, 60))
    gram = FreeGram(A)
    first = np.zeros(60, dtype=bool)
    first[:30] = True  # k = 30 = d - k
    gram(first)
    second = first.copy()
    second[:20] = False
    second[30:45] = True  # 35 columns changed > min(k, d - k): an update would cost more than a fresh product
    G = gram(second)
    assert gram._drift == 0  # formed afresh, not updated
    np.testing.assert_allclose(G, A[:, second] @ A[:, second].T, rtol=1e-12, atol=1e-12)
    third = second.copy()
    third[45:48] = True  # a small change: updated in place
    np.testing.assert_allclose(gram(third), A[:, third] @ A[:, third].T, rtol=1e-12, atol=1e-12)
    assert gram._drift == 3
