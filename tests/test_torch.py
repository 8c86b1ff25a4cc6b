"""cvxpar.torch.solve: torch.autograd.gradcheck in float64 on small nondegenerate problems, batched and not, for
the least-squares, logistic and Huber losses."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import Huber, LeastSquares, Logistic

torch = pytest.importorskip("torch")
from cvxpar.torch import solve  # noqa: E402

OPTIONS = {"tol": 1e-12}
SLOPES = (-1.5, 1.5)


def _data(seed: int, n: int = 10, d: int = 4):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ rng.uniform(-1.0, 1.0, d) + 0.2 * rng.standard_normal(n)
    q = np.array([-0.6, 0.1, 0.7])
    v = np.array([0.5, 0.0, 0.4])
    return A, b, q, v


def _nondegenerate(A, b, lam, q, v, constraints=None, loss=LeastSquares) -> bool:
    psi = cvxpar.PAR(q, v, *SLOPES)
    res = cvxpar.solve(loss(A, b), psi, lam, constraints=constraints, **OPTIONS)
    res.vjp(np.ones(A.shape[1]))
    act = res.info["derivative"].act
    return res.status == "optimal" and not res.info["degenerate"] and act.free.size > 0 and (
        act.at_break.size + act.at_lower.size + act.at_upper.size > 0)


def _tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("per_coordinate", [False, True])
def test_gradcheck_single(per_coordinate):
    A, b, q, v = _data(0)
    lam = np.array([2.0, 3.0, 2.5, 4.0]) if per_coordinate else np.array(3.0)
    assert _nondegenerate(A, b, lam if per_coordinate else float(lam), q, v)
    inputs = _tensors(A, b, lam, q, v)
    assert torch.autograd.gradcheck(lambda *t: solve(*t, *SLOPES, **OPTIONS), inputs, eps=1e-6, atol=1e-6)


def test_gradcheck_batched_with_box():
    box = Box(-0.9, 0.8)
    data = [_data(seed) for seed in (2, 3)]
    for A, b, q, v in data:
        assert _nondegenerate(A, b, 3.0, q, v, box)
    A = np.stack([a for a, *_ in data])
    b = np.stack([d[1] for d in data])
    lam = np.array([[3.0], [3.0]])
    inputs = _tensors(A, b, lam, data[0][2], data[0][3])  # breakpoints and values shared by the batch
    assert torch.autograd.gradcheck(lambda *t: solve(*t, *SLOPES, constraints=box, **OPTIONS), inputs,
                                    eps=1e-6, atol=1e-6)


def test_batch_matches_single_solves():
    A, b, q, v = _data(3)
    A2, b2, _, _ = _data(4)
    x = solve(torch.tensor(np.stack([A, A2])), torch.tensor(np.stack([b, b2])), torch.tensor(3.0),
              torch.tensor(q), torch.tensor(v), *SLOPES, **OPTIONS)
    for k, (Ak, bk) in enumerate(((A, b), (A2, b2))):
        ref = cvxpar.solve(LeastSquares(Ak, bk), cvxpar.PAR(q, v, *SLOPES), 3.0, **OPTIONS).x
        np.testing.assert_array_equal(x[k].numpy(), ref)


def test_bad_lam_shape():
    A, b, q, v = _data(0)
    with pytest.raises(ValueError, match="lam must have shape"):
        solve(torch.tensor(A), torch.tensor(b), torch.ones(3), torch.tensor(q), torch.tensor(v), *SLOPES)


@pytest.mark.parametrize("name, loss_cls", [("logistic", Logistic), ("huber", Huber)])
def test_gradcheck_glm_losses(name, loss_cls):
    A, b, q, v = _data(5, n=16)
    if name == "logistic":
        b = np.where(b >= 0, 1.0, -1.0)  # labels: discrete, so not differentiated
        lam = np.array([0.3, 0.5, 0.4, 0.6])
    else:
        lam = np.array([2.0, 3.0, 2.5, 4.0])
    assert _nondegenerate(A, b, lam, q, v, loss=loss_cls)
    A_t, lam_t, q_t, v_t = _tensors(A, lam, q, v)
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=name == "huber")
    options = {"loss": name, **({"loss_options": {"M": 0.5}} if name == "huber" else {}), **OPTIONS}

    def layer(A_, b_, lam_, q_, v_):
        return solve(A_, b_, lam_, q_, v_, *SLOPES, **options)

    assert torch.autograd.gradcheck(layer, [A_t, b_t, lam_t, q_t, v_t], eps=1e-6, atol=1e-6)
    # the forward pass is the loss's own solution
    psi = cvxpar.PAR(q, v, *SLOPES)
    loss = loss_cls(A, b, M=0.5) if name == "huber" else loss_cls(A, b)
    np.testing.assert_array_equal(layer(A_t, b_t, lam_t, q_t, v_t).detach().numpy(),
                                  cvxpar.solve(loss, psi, lam, **OPTIONS).x)


def test_unknown_loss():
    A, b, q, v = _data(0)
    with pytest.raises(ValueError, match="loss must be one of"):
        solve(torch.tensor(A), torch.tensor(b), torch.tensor(1.0), torch.tensor(q), torch.tensor(v), *SLOPES,
              loss="hinge")
