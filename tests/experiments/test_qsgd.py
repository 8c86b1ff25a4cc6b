"""cvxpar.experiments.qsgd: quantized one-pass SGD for linear regression (Zhang, Su & Zou 2025, arXiv 2510.18259).

Every statistical check uses fixed seeds, common random numbers across the runs it compares, and
margins several standard errors wide (measured at these sizes before the bounds were set).
"""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar.experiments import qsgd
from cvxpar.quantizers import (
    relative_spacing,
    stochastic_round,
    stochastic_round_relative,
    stochastic_round_relative_variance,
    stochastic_round_variance,
)

DRAWS = 40_000


def _z(sample_mean, mean, sample_var, n):
    return np.abs(sample_mean - mean) / np.sqrt(np.maximum(sample_var, 1e-300) / n)


# ------------------------------------------------------------------------------ rounding primitives
@pytest.mark.parametrize("step", [0.25, 1.0])
def test_stochastic_round_is_unbiased_with_variance_p1p(step):
    x = np.array([-1.3, -0.3, 0.0, 0.05, 0.5, 0.77, 2.9])
    draws = stochastic_round(np.broadcast_to(x, (DRAWS, x.size)), step, rng=1)
    assert np.allclose(np.round(draws / step), draws / step)  # on the grid
    frac = x / step - np.floor(x / step)
    var = frac * (1 - frac) * step**2
    assert np.allclose(stochastic_round_variance(x, step), var)
    assert np.all(var <= step**2 / 4 + 1e-15)
    assert np.all(_z(draws.mean(axis=0), x, var, DRAWS) < 4.5)
    assert np.allclose(draws.var(axis=0), var, rtol=0.05, atol=1e-12)
    assert np.array_equal(stochastic_round(x, 0.0), x)


def test_stochastic_round_relative_is_unbiased_and_multiplicative():
    x = np.array([-3.0, -0.7, 0.0, 1e-3, 0.3, 1.0, 5.5])
    rel = 2.0**-3
    draws = stochastic_round_relative(np.broadcast_to(x, (DRAWS, x.size)), rel, rng=2)
    h = relative_spacing(x, rel)
    frac = np.array([xi / hi - np.floor(xi / hi) if hi > 0 else 0.0 for xi, hi in zip(x, h, strict=True)])
    var = frac * (1 - frac) * h**2
    assert np.allclose(stochastic_round_relative_variance(x, rel), var)
    assert np.all(var <= (rel * x) ** 2 / 4 + 1e-18)
    assert np.all(_z(draws.mean(axis=0), x, var, DRAWS) < 4.5)
    assert np.allclose(draws.var(axis=0), var, rtol=0.05, atol=1e-18)
    assert np.all(draws[:, 2] == 0.0)  # zero stays zero
    q = qsgd.multiplicative(0.01, mode="rounding")
    # multiplicative: scaling x by 2^k scales the conditional variance by 4^k exactly
    assert np.allclose(q.conditional_variance(8 * x), 64 * q.conditional_variance(x))
    assert np.array_equal(stochastic_round_relative(x, 0.0), x)


# ------------------------------------------------------------------------------------- Quantizer
def test_synthetic_additive_has_covariance_eps_identity():
    eps = 0.04
    u = np.array([0.5, -2.0, 0.0])
    draws = qsgd.additive(eps)(np.broadcast_to(u, (DRAWS, 3)).copy(), np.random.default_rng(3))
    err = draws - u
    assert np.all(_z(draws.mean(axis=0), u, np.full(3, eps), DRAWS) < 4.5)
    cov = err.T @ err / DRAWS
    assert np.allclose(cov, eps * np.eye(3), atol=6 * eps / np.sqrt(DRAWS) * 3)


@pytest.mark.parametrize("shared", [True, False])
def test_synthetic_multiplicative_covariance(shared):
    eps = 0.04
    u = np.array([0.5, -2.0, 1.0])
    draws = qsgd.multiplicative(eps, shared=shared)(np.broadcast_to(u, (DRAWS, 3)).copy(), np.random.default_rng(4))
    err = draws - u
    assert np.all(_z(draws.mean(axis=0), u, eps * u**2, DRAWS) < 4.5)
    cov = err.T @ err / DRAWS
    expected = eps * np.outer(u, u) if shared else eps * np.diag(u**2)
    assert np.allclose(cov, expected, atol=0.05 * eps * 4)


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_rounding_quantizer_variance_is_at_most_eps(kind):
    eps = 0.01
    q = qsgd.Quantizer(kind, eps, "rounding")
    x = np.linspace(-3, 3, 1001)
    bound = eps if kind == "additive" else eps * x**2
    assert np.all(q.conditional_variance(x) <= bound + 1e-15)
    some = x[::100] + 0.037  # off the grid
    draws = q(np.broadcast_to(some, (DRAWS, 11)).copy(), np.random.default_rng(5))
    assert np.all(_z(draws.mean(axis=0), some, q.conditional_variance(some), DRAWS) < 4.5)


def test_quantizer_rejects_bad_parameters():
    with pytest.raises(ValueError, match="kind"):
        qsgd.Quantizer("integer", 0.1)
    with pytest.raises(ValueError, match="mode"):
        qsgd.Quantizer("additive", 0.1, "nearest")
    with pytest.raises(ValueError, match="eps"):
        qsgd.additive(-1.0)
    with pytest.raises(ValueError, match="eps"):
        qsgd.multiplicative(float("nan"))
    with pytest.raises(ValueError, match="eps=0"):
        qsgd.Quantizer("none", 0.1)
    with pytest.raises(ValueError, match="unknown targets"):
        qsgd.QuantConfig.on(qsgd.additive(0.1), ["weights"])


# ------------------------------------------------------------------------------------- simulator
@pytest.fixture(scope="module")
def small():
    return qsgd.LinearRegression.power_law(50)


def _run(problem, quant=None, **kw):
    args = {"n_steps": 2000, "step_size": 0.1, "n_reps": 64, "checkpoints": [50, 200, 2000], "seed": 11} | kw
    return qsgd.simulate(problem, quant=quant, **args)


@pytest.mark.parametrize("mode", ["synthetic", "rounding"])
@pytest.mark.parametrize("averaging", ["full", "tail"])
def test_eps_zero_recovers_full_precision_exactly(small, mode, averaging):
    fp = _run(small, n_steps=300, checkpoints=[100, 300], averaging=averaging, batch_size=2)
    for kind in ("additive", "multiplicative"):
        zero = qsgd.QuantConfig.on(qsgd.Quantizer(kind, 0.0, mode))
        run = _run(small, zero, n_steps=300, checkpoints=[100, 300], averaging=averaging, batch_size=2)
        assert np.array_equal(run.w_avg, fp.w_avg)
    tiny = qsgd.QuantConfig.on(qsgd.additive(1e-14, mode))
    tiny = _run(small, tiny, n_steps=300, checkpoints=[300], averaging=averaging, batch_size=2)
    assert np.allclose(tiny.w_avg[-1], fp.w_avg[-1], atol=1e-5)


def test_full_precision_excess_risk_decreases_with_n(small):
    run = _run(small)
    mean, sem = run.mean(), run.sem()
    assert np.all(np.diff(mean) < -3 * (sem[1:] + sem[:-1]))
    assert np.array_equal(run.risk, run.risk_quantized)  # no data quantization: the two metrics agree
    assert not run.diverged.any()


def test_multiplicative_close_to_full_precision_additive_degrades_with_eps(small):
    fp = _run(small).mean()[-1]
    mul = _run(small, qsgd.QuantConfig.on(qsgd.multiplicative(0.01), ["data"])).mean()[-1]
    adds = [_run(small, qsgd.QuantConfig.on(qsgd.additive(eps), ["data"])).mean()[-1] for eps in (0.003, 0.01, 0.03)]
    assert abs(mul - fp) < 0.05 * fp
    assert fp * 1.1 < adds[0] < adds[1] < adds[2]
    assert adds[1] > 1.3 * fp  # measured 0.087 against 0.056


def test_additive_degrades_with_d_multiplicative_does_not():
    """Zhang, Su & Zou 2025 (Figure 1): additive data quantization hurts more as d grows; multiplicative stays at FP."""
    risks = {}
    for d in (25, 200):
        problem = qsgd.LinearRegression.power_law(d)
        fp = _run(problem, n_reps=48).mean(quantized=True)[-1]
        add = _run(problem, qsgd.QuantConfig.on(qsgd.additive(0.01), ["data"]), n_reps=48).mean(quantized=True)[-1]
        mul = _run(problem, qsgd.QuantConfig.on(qsgd.multiplicative(0.01), ["data"]), n_reps=48).mean(quantized=True)[
            -1
        ]
        risks[d] = (fp, add, mul)
    (fp25, add25, mul25), (fp200, add200, mul200) = risks[25], risks[200]
    assert add200 - fp200 > 1.5 * (add25 - fp25)  # measured ~0.14 against ~0.07
    # multiplicative: only its d-free approximation error eps/(1+eps)||w*||_H^2 ~ 0.016 on quantized features
    assert abs((mul200 - fp200) - (mul25 - fp25)) < 0.3 * (mul25 - fp25)


def test_rounding_quantizers_rank_like_the_synthetic_ones(small):
    fp = _run(small).mean()[-1]
    add = _run(small, qsgd.QuantConfig.on(qsgd.additive(0.01, "rounding"), ["data"])).mean()[-1]
    mul = _run(small, qsgd.QuantConfig.on(qsgd.multiplicative(0.01, "rounding"), ["data"])).mean()[-1]
    assert abs(mul - fp) < 0.05 * fp
    assert add > 1.2 * fp


def test_additive_activation_and_gradient_noise_acts_like_label_noise(small):
    """Corollary 4.1: additive activation/gradient errors add eps to sigma^2, so their increment
    shrinks with the batch size like the label-noise variance (variance runs: w0 = w*)."""
    quant = qsgd.QuantConfig.on(qsgd.additive(1.0), ["activations", "gradients"])
    increments, ratios = [], []
    for batch in (1, 8):
        kw = {"n_steps": 1000, "checkpoints": [1000], "batch_size": batch, "w0": small.w_star, "n_reps": 128}
        fp = _run(small, **kw).mean()[-1]
        q = _run(small, quant, **kw).mean()[-1]
        increments.append(q - fp)
        ratios.append(q / fp)
    assert increments[1] < 0.3 * increments[0]  # ~1/B
    assert 2.0 < ratios[0] < 4.0 and 2.0 < ratios[1] < 4.0  # sigma^2 -> sigma^2 + 2 eps: ~3x


@pytest.mark.parametrize(
    ("quant", "batch", "averaging", "at_optimum"),
    [
        (None, 1, "full", False),
        (None, 2, "tail", False),
        (qsgd.QuantConfig(data=qsgd.additive(0.01)), 1, "full", False),
        (qsgd.QuantConfig.on(qsgd.additive(0.05)), 4, "full", False),
        (qsgd.QuantConfig(params=qsgd.additive(0.5), labels=qsgd.additive(0.3)), 4, "tail", True),
    ],
)
def test_simulation_matches_the_exact_expected_risk(quant, batch, averaging, at_optimum):
    """expected_risk (closed second-moment recursion) is an independent reference for simulate."""
    problem = qsgd.LinearRegression.power_law(30)
    kw = {"batch_size": batch, "averaging": averaging, "checkpoints": [10, 100, 600]}
    kw["w0"] = problem.w_star if at_optimum else None
    exact = qsgd.expected_risk(problem, 600, 0.1, quant, **kw)
    run = qsgd.simulate(problem, 600, 0.1, quant, n_reps=300, seed=21, **kw)
    assert np.all(np.abs(run.mean() - exact["risk"]) < 4.5 * run.sem())
    assert np.all(np.abs(run.mean(quantized=True) - exact["risk_quantized"]) < 4.5 * run.sem(quantized=True))


def test_expected_risk_is_for_additive_synthetic_quantizers_only(small):
    with pytest.raises(ValueError, match="additive synthetic"):
        qsgd.expected_risk(small, 10, 0.1, qsgd.QuantConfig(data=qsgd.multiplicative(0.01)))
    with pytest.raises(ValueError, match="additive synthetic"):
        qsgd.expected_risk(small, 10, 0.1, qsgd.QuantConfig(labels=qsgd.additive(0.01, "rounding")))
    exact = qsgd.expected_risk(small, 2000, 0.1, checkpoints=[50, 200, 2000])
    assert np.all(np.diff(exact["risk"]) < 0) and np.array_equal(exact["risk"], exact["risk_quantized"])


def test_divergence_is_flagged(small):
    run = _run(small, n_steps=1000, checkpoints=[1000], step_size=50.0, n_reps=4)
    assert run.diverged.all()
    assert np.all(np.isinf(run.risk))


def test_simulate_rejects_bad_input(small):
    with pytest.raises(ValueError, match="n_steps"):
        qsgd.simulate(small, 0, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        qsgd.simulate(small, 10, -0.1)
    with pytest.raises(ValueError, match="averaging"):
        qsgd.simulate(small, 10, 0.1, averaging="last")
    with pytest.raises(ValueError, match="checkpoints"):
        qsgd.simulate(small, 10, 0.1, checkpoints=[20])
    with pytest.raises(ValueError, match="batch_size"):
        qsgd.simulate(small, 10, 0.1, batch_size=0)
    with pytest.raises(ValueError, match="spectrum"):
        qsgd.LinearRegression(np.array([1.0, -1.0]), 1.0)


# ---------------------------------------------------------------------------------- bound shapes
def test_quantized_spectrum_and_approximation_error(small):
    eps = 0.01
    lam, w = small.spectrum, small.w_star
    assert np.allclose(qsgd.quantized_spectrum(small, qsgd.additive(eps)), lam + eps)
    assert np.allclose(qsgd.quantized_spectrum(small, qsgd.multiplicative(eps)), (1 + eps) * lam)
    signal = np.sum(lam * w**2)
    assert qsgd.approximation_error(small, qsgd.multiplicative(eps)) == pytest.approx(eps / (1 + eps) * signal)
    assert qsgd.approximation_error(small, qsgd.additive(eps)) == pytest.approx(np.sum(lam * w**2 * eps / (lam + eps)))
    assert qsgd.approximation_error(small, qsgd.NONE) == 0.0
    # the approximation error is the quantized-feature risk of the quantized optimum (H^q)^-1 H w*
    for q in (qsgd.additive(eps), qsgd.multiplicative(eps)):
        w_q = lam * w / qsgd.quantized_spectrum(small, q)
        assert small.quantized_excess_risk(w_q, q) == pytest.approx(qsgd.approximation_error(small, q))


def test_bound_shapes():
    n = np.array([10, 100, 1000, 10000])
    small, large = qsgd.LinearRegression.power_law(50), qsgd.LinearRegression.power_law(800)
    fp = qsgd.bound_shapes(small, None, n, 0.1)
    assert np.all(np.diff(fp["total"]) < 0) and np.all(fp["approx"] == 0)
    assert np.all(np.diff(fp["k_star"]) >= 0)
    assert fp["k_star"][0] == qsgd.effective_dimension(small.spectrum, 10, 0.1)
    add = qsgd.QuantConfig.on(qsgd.additive(0.01), ["data"])
    mul = qsgd.QuantConfig.on(qsgd.multiplicative(0.01), ["data"])
    # Corollary 4.3: the additive excess over full precision grows with d (k* jumps to d once
    # eps >= 1/(N gamma)); the multiplicative one does not.  Compared at N = 1000.
    excess = {}
    for p in (small, large):
        base = qsgd.bound_shapes(p, None, n, 0.1)["total"][2]
        excess[p.d] = [qsgd.bound_shapes(p, q, n, 0.1)["total"][2] - base for q in (add, mul)]
    assert qsgd.bound_shapes(large, add, n, 0.1)["k_star"][2] == 800
    assert excess[800][0] > 5 * excess[50][0]
    assert abs(excess[800][1] - excess[50][1]) < 0.2 * excess[50][1]
    # batch size divides additive label/activation/gradient noise, not parameter noise
    act = qsgd.QuantConfig.on(qsgd.additive(0.5), ["activations"])
    par = qsgd.QuantConfig.on(qsgd.additive(0.5), ["params"])
    assert qsgd.effective_noise(small, act, 4) == pytest.approx((1 + 0.5) / 4)
    tr = np.sum(small.spectrum)
    assert qsgd.effective_noise(small, par, 4) == pytest.approx(1 / 4 + 0.5 * tr)


def test_with_eps_replaces_active_quantizers_only():
    quant = qsgd.QuantConfig(data=qsgd.additive(0.1), params=qsgd.multiplicative(0.2, shared=False))
    swept = qsgd.with_eps(quant, 0.5)
    assert swept.data == qsgd.additive(0.5)
    assert swept.params == qsgd.multiplicative(0.5, shared=False)
    assert swept.labels == qsgd.NONE
    assert qsgd.QuantConfig().full_precision and not swept.full_precision


def test_bad_sizes_are_refused():
    prob = qsgd.LinearRegression.power_law(4)
    with pytest.raises(ValueError, match="n_mc"):
        qsgd.quantized_spectrum(prob, qsgd.additive(0.1, "rounding"), n_mc=0)  # was nan silently
    with pytest.raises(ValueError, match="step_size"):
        qsgd.effective_dimension([1.0, 0.1], 10, 0.0)  # was k* = 0 silently
    with pytest.raises(ValueError, match="batch_size"):
        qsgd.effective_noise(prob, qsgd.QuantConfig(), 0)
