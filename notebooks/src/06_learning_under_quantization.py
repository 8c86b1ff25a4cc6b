# %% [markdown]
# # 6. Learning under quantization: SGD for linear regression with quantized data, weights and gradients
#
# Zhang, Su & Zou (arXiv 2510.18259, ICLR 2026) analyse one-pass SGD with a constant step
# $\gamma$, batch size $B$ and iterate averaging on $y = \langle x, w^*\rangle + \xi$, when any of
# five things is quantized: the data $Q_d$, the labels $Q_l$, the parameters $Q_p$ (inside the
# forward product only), the activations $Q_a$ (the $B$ predictions) and the output gradient $Q_o$
# (the $B$ residuals):
#
# $$w_t = w_{t-1} + \frac{\gamma}{B}\, Q_d(X_t)^\top Q_o\!\big(Q_l(y_t) - Q_a(Q_d(X_t)\,Q_p(w_{t-1}))\big).$$
#
# Every quantizer is **unbiased**, $\mathbb{E}[Q(u)\mid u] = u$, and comes in two kinds:
#
# * **additive** (integer-like, a constant step): $\mathbb{E}[(Q(u)-u)(Q(u)-u)^\top\mid u] = \varepsilon I$;
# * **multiplicative** (floating-point-like, a step proportional to $\lvert u\rvert$):
#   $\mathbb{E}[(Q(u)-u)(Q(u)-u)^\top\mid u] = \varepsilon\, u u^\top$.
#
# Data quantization changes the covariance the algorithm sees to $H^{(q)} = H + \varepsilon I$
# (additive: the whole spectrum is lifted, a *spectral distortion*) or $(1+\varepsilon) H$
# (multiplicative: a rescaling that keeps the decay).  The paper's claims (Zhang, Su & Zou 2025,
# arXiv 2510.18259, as stated in its abstract and Figure 1):
#
# 1. **Multiplicative quantization stays close to full precision** (Fig. 1, panel Q1).
# 2. **Additive quantization degrades progressively with $\varepsilon$** (Q1).
# 3. **Additive degrades markedly as $d$ grows; multiplicative is unaffected by $d$** (Q2, and
#    Corollary 4.3: the additive bound diverges with $d$, the multiplicative one is dimension-free).
# 4. **Batch size:** additive activation and gradient errors are *suppressed by $1/B$*, exactly like
#    label noise; parameter errors are not (Corollary 4.1), nor are shared multiplicative errors
#    (Theorem 4.2).
# 5. The risk follows the bound $\text{VarErr} + \text{BiasErr} + \text{ApproxErr}$ of Theorem 4.1.
#
# We run these experiments with `cvxpar.experiments.qsgd`, which simulates the update above for many replicas
# at once, and compare with `cvxpar.experiments.qsgd.bound_shapes`.
#
# **Where interpretation was needed.**  The paper's full text was not available to us, only its
# abstract, reviews and secondary summaries; so:
# (a) "multiplicative" noise $\varepsilon uu^\top$ is rank one, a *shared* relative error per vector
# (`shared=True`, our default); per-entry floating-point rounding would be
# $\varepsilon\,\mathrm{diag}(u^2)$ — the two coincide for the data covariance;
# (b) the paper's risk is most plausibly measured on *quantized test features*,
# $L^{(q)}(\bar w) - L(w^*) = \lVert \bar w - w^*\rVert_H^2 + \sum_i v_i \bar w_i^2$ with $v_i$ the
# feature-noise variance; we report it and the clean $\lVert\bar w - w^*\rVert_H^2$ side by side;
# (c) $N$ counts SGD steps (each sees $B$ fresh samples);
# (d) panels Q1/Q2 quantize the data only (the source of the spectral distortion);
# (e) the step is a fixed $\gamma = 0.1$ for every $d$ (we check $\gamma\,\mathrm{tr}\,H^{(q)} < 1$);
# (f) the bound shapes drop all constants (the variance/bias terms of Zou et al. 2023 for averaged
# SGD).  The experiment follows the paper's setting: $\lambda_i = i^{-2}$, $w^*_i = 1$,
# $\sigma^2 = 1$, Gaussian features.

# %%
from cvxpar.experiments import qsgd

GAMMA = 0.1
N_STEPS = 20_000 if FULL else 1_000
REPS = 200 if FULL else 32
EPSILONS = [1e-3, 5e-3, 1e-2]
DIMS = [50, 100, 200, 400]
print(f"N = {N_STEPS} steps, {REPS} replicas, gamma = {GAMMA}")

# %% [markdown]
# ## The quantizers are unbiased, with the advertised second moments
#
# `qsgd.additive(eps)` and `qsgd.multiplicative(eps)` add Gaussian noise with exactly these
# moments (`mode="synthetic"`); `mode="rounding"` uses real stochastic rounding on an integer grid
# of step $2\sqrt\varepsilon$ or on a floating-point grid of relative spacing $2\sqrt\varepsilon$, whose
# variance is *at most* $\varepsilon$ (resp. $\varepsilon u^2$) and depends on where $u$ falls.

# %%
rng = np.random.default_rng(0)
u = np.array([0.3, -1.7, 4.2])
draws = 200_000
print(f"{'quantizer':>30} {'E[Q(u)] - u (max)':>18} {'Var/eps (additive) or Var/(eps u^2)':>36}")
bias_ok = True
for label, quantizer in [
    ("additive, synthetic", qsgd.additive(0.01)),
    ("multiplicative, synthetic", qsgd.multiplicative(0.01, shared=False)),
    ("additive, rounding", qsgd.additive(0.01, mode="rounding")),
    ("multiplicative, rounding", qsgd.multiplicative(0.01, mode="rounding")),
]:
    samples = quantizer(np.tile(u, (draws, 1)), rng)
    bias = np.abs(samples.mean(axis=0) - u).max()
    var = samples.var(axis=0)
    scale = 0.01 if quantizer.kind == "additive" else 0.01 * u**2
    bias_ok &= bias < 5 * np.sqrt(var.max() / draws) + 1e-12
    print(f"{label:>30} {bias:18.1e} {np.array2string(var / scale, precision=3):>36}")
verdict(
    "the simulated quantizers are unbiased, E[Q(u) | u] = u (the paper's standing assumption)",
    bias_ok,
    "|mean of 200,000 draws - u| < 5 standard errors, every quantizer and entry",
    measured="see the table: synthetic variance ratios ~1, rounding ratios <= 1",
    theorem=True,
)

# %% [markdown]
# ## Q1: excess risk against $N$ for several $\varepsilon$ ($d = 200$, $B = 1$, data quantized)
#
# All runs share their data (common random numbers), so differences between curves are due to
# quantization, not to sampling.

# %%
d = 200
problem = qsgd.LinearRegression.power_law(d)
configs = {"full precision": qsgd.QuantConfig()}
for eps in EPSILONS:
    configs[f"additive eps={eps:g}"] = qsgd.QuantConfig(data=qsgd.additive(eps))
    configs[f"multiplicative eps={eps:g}"] = qsgd.QuantConfig(data=qsgd.multiplicative(eps))
trace = max(np.sum(qsgd.quantized_spectrum(problem, q.data)) for q in configs.values())
print(f"largest gamma * tr H^(q) = {GAMMA * trace:.2f} (< 1: stable)")
runs = {name: qsgd.simulate(problem, N_STEPS, GAMMA, q, n_reps=REPS, seed=1) for name, q in configs.items()}
final = {name: (run.mean()[-1], run.mean(quantized=True)[-1]) for name, run in runs.items()}
print(f"{'':>28} {'clean risk':>11} {'quantized-feature risk':>23}")
for name, (clean, quant) in final.items():
    print(f"{name:>28} {clean:11.4f} {quant:23.4f}")

# %%
from matplotlib.lines import Line2D

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
for ax, kind in zip(axes, ("additive", "multiplicative"), strict=True):
    for i, (name, run) in enumerate(runs.items()):
        if name != "full precision" and not name.startswith(kind):
            continue
        color = "k" if name == "full precision" else f"C{(i - 1) // 2}"  # one color per eps
        ax.loglog(run.checkpoints, run.mean(quantized=True), color=color, label=name)
        ax.loglog(run.checkpoints, run.mean(), color=color, ls=":", lw=1)
    ax.set_title(f"{kind} data quantization, d = {d}, B = 1")
    ax.set_xlabel("N (SGD steps)")
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], color="grey", label="solid: risk on quantized test features"),
        Line2D([], [], color="grey", ls=":", lw=1, label="dotted: risk on clean test features"),
    ]
    ax.legend(handles=handles, fontsize=8)
axes[0].set_ylabel("excess risk")
fig.tight_layout()
savefig(fig, "risk_vs_n_eps")

# %%
fp_clean, fp_q = final["full precision"]
mult_gap = max(abs(final[f"multiplicative eps={e:g}"][0] / fp_clean - 1) for e in EPSILONS)
approx = {e: qsgd.approximation_error(problem, qsgd.multiplicative(e)) for e in EPSILONS}
mult_excess = {e: final[f"multiplicative eps={e:g}"][1] - fp_q for e in EPSILONS}
verdict(
    "multiplicative quantization stays close to full precision (Q1)",
    mult_gap <= 0.10 and all(abs(mult_excess[e] - approx[e]) <= 0.3 * approx[e] + 2e-3 for e in EPSILONS),
    "clean risk within 10% of full precision for every eps, and the quantized-feature excess over full "
    "precision equals ApproxErr = eps/(1+eps) ||w*||_H^2 within 30% (+2e-3)",
    measured=f"clean gap <= {100 * mult_gap:.1f}%; excess {[round(float(mult_excess[e]), 4) for e in EPSILONS]} "
    f"vs ApproxErr {[round(approx[e], 4) for e in EPSILONS]}",
)
additive_q = [final[f"additive eps={e:g}"][1] for e in EPSILONS]
additive_c = [final[f"additive eps={e:g}"][0] for e in EPSILONS]
verdict(
    "additive quantization degrades progressively with eps (Q1)",
    all(np.diff([fp_q, *additive_q]) > 0) and all(np.diff([fp_clean, *additive_c]) > 0) and additive_q[-1] > 1.3 * fp_q,
    "final risk increases strictly with eps in both metrics, and is > 1.3x full precision at eps = 1e-2",
    measured=f"quantized-feature risk {fp_q:.4f} (FP) -> {[round(float(r), 4) for r in additive_q]}",
)

# %% [markdown]
# For full precision and additive (Gaussian) noise the expected risk of averaged SGD has a closed
# form, `qsgd.expected_risk` (a second-moment recursion on the diagonal of $H^{(q)}$).  The
# simulation should agree with it up to its Monte Carlo error.

# %%
exact_names = ["full precision", *(f"additive eps={e:g}" for e in EPSILONS)]
z_scores = {}
for name in exact_names:
    exact = qsgd.expected_risk(problem, N_STEPS, GAMMA, configs[name], checkpoints=runs[name].checkpoints)
    run = runs[name]
    z = np.abs(run.mean(quantized=True) - exact["risk_quantized"]) / np.maximum(run.sem(quantized=True), 1e-12)
    z_scores[name] = float(z[-1])
verdict(
    "the simulator matches the exact expected risk (full precision and additive noise)",
    max(z_scores.values()) <= 4.0,
    f"|simulated mean - exact| <= 4 standard errors at N = {N_STEPS}",
    measured=", ".join(f"{k}: {v:.1f} SE" for k, v in z_scores.items()),
    theorem=True,
)

# %% [markdown]
# ## Q2: the effect of the dimension ($\varepsilon = 0.01$, $B = 1$)
#
# Additive data noise lifts *every* eigenvalue of $H^{(q)}$ to at least $\varepsilon$: the tail no
# longer decays, and the quantized-feature risk pays $\varepsilon\lVert\bar w\rVert^2$, which grows with
# $d$.  Multiplicative noise rescales the spectrum and pays $\varepsilon\,\bar w^\top H\bar w$, which
# does not.  Full precision itself gets worse with $d$ here (with $w^*_i = 1$ there is more tail left to
# learn), so we measure the *price of quantization* at each $d$: the excess risk over full precision
# at the same $d$.

# %%
eps = 1e-2
kinds = {"full precision": None, "additive": qsgd.additive(eps), "multiplicative": qsgd.multiplicative(eps)}
by_d = {kind: {"clean": [], "quantized": []} for kind in kinds}
for dim in DIMS:
    prob = qsgd.LinearRegression.power_law(dim)
    for kind, quantizer in kinds.items():
        quant = qsgd.QuantConfig() if quantizer is None else qsgd.QuantConfig(data=quantizer)
        run = qsgd.simulate(prob, N_STEPS, GAMMA, quant, n_reps=REPS, seed=2)
        by_d[kind]["clean"].append(run.mean()[-1])
        by_d[kind]["quantized"].append(run.mean(quantized=True)[-1])
print(f"{'d':>5}" + "".join(f"{k + ' (clean / quantized)':>38}" for k in kinds))
for i, dim in enumerate(DIMS):
    print(f"{dim:5d}" + "".join(f"{by_d[k]['clean'][i]:>29.4f} / {by_d[k]['quantized'][i]:.4f}" for k in kinds))

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, metric in zip(axes, ("quantized", "clean"), strict=True):
    for kind, color in zip(kinds, ("k", "C3", "C0"), strict=True):
        ax.plot(DIMS, by_d[kind][metric], "o-", color=color, label=kind)
    ax.set_xscale("log")
    ax.set_xticks(DIMS, [str(x) for x in DIMS])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("d")
    ax.set_ylabel(f"excess risk at N = {N_STEPS} ({metric} features)")
    ax.set_title(f"{metric} metric, eps = {eps:g}")
    ax.legend(fontsize=8)
fig.tight_layout()
savefig(fig, "risk_vs_d")

# %%
# The price of quantization at each d: excess risk over full precision at the same d (full precision
# itself grows with d, because constant-step SGD has not yet learned the tail of w* = 1).
fp_q = np.array(by_d["full precision"]["quantized"])
excess_add = np.array(by_d["additive"]["quantized"]) - fp_q
excess_mul = np.array(by_d["multiplicative"]["quantized"]) - fp_q
print("excess over full precision, additive:      ", np.round(excess_add, 4).tolist())
print("excess over full precision, multiplicative:", np.round(excess_mul, 4).tolist())
verdict(
    "additive quantization deteriorates as d grows (Q2)",
    all(np.diff(excess_add) > 0),
    "the quantized-feature excess risk over full precision increases strictly with d",
    measured=f"excess {np.round(excess_add, 4).tolist()} for d = {DIMS} (x{excess_add[-1] / excess_add[0]:.2f})",
)
verdict(
    "multiplicative quantization is unaffected by d (Q2)",
    excess_mul.max() / excess_mul.min() < 1.10,
    "the quantized-feature excess risk over full precision varies by < 10% over d = 50..400",
    measured=f"excess {np.round(excess_mul, 4).tolist()}",
)
clean_add = np.array(by_d["additive"]["clean"]) - np.array(by_d["full precision"]["clean"])
print(
    f"In the clean metric the additive excess is {np.round(clean_add, 4).tolist()}: "
    "much flatter in d, because with w* = 1 and lambda_i = i^-2 the clean approximation bias converges. "
    "The d-dependence lives in the quantized-feature risk, interpretation (b) above."
)

# %% [markdown]
# ## The batch-size effect
#
# Corollary 4.1: additive activation and gradient errors enter like extra label noise,
# $\sigma^2 \to \sigma^2 + \varepsilon_a + \varepsilon_o$, and are divided by $B$ with it; the
# parameter error enters through $\varepsilon_p\,\mathrm{tr}(H^{(q)})$, the same for every sample
# of the batch, and is not.  Theorem 4.2: a shared multiplicative error scales with the signal and
# does not average out either.  To isolate the variance term we start at $w_0 = w^*$ (no bias),
# and compare each configuration with full precision *at the same $B$*: a 1/B-suppressed error keeps
# the ratio constant, an unsuppressed one makes it grow with $B$.  `qsgd.effective_noise` gives the
# predicted ratio $\sigma_G^{(q)2}/\sigma_G^2$.

# %%
problem_b = qsgd.LinearRegression.power_law(50)
batch_sizes = [1, 4, 16]
batch_configs = {
    "additive act+grad (eps=1)": qsgd.QuantConfig(activations=qsgd.additive(1.0), gradients=qsgd.additive(1.0)),
    "additive params (eps=0.5)": qsgd.QuantConfig(params=qsgd.additive(0.5)),
    "multiplicative act+grad (eps=0.1)": qsgd.QuantConfig(
        activations=qsgd.multiplicative(0.1), gradients=qsgd.multiplicative(0.1)
    ),
}
n_batch = N_STEPS // 2
measured_ratio = {name: [] for name in batch_configs}
predicted_ratio = {name: [] for name in batch_configs}
for B in batch_sizes:
    fp = qsgd.simulate(problem_b, n_batch, GAMMA, batch_size=B, n_reps=REPS, w0=problem_b.w_star, seed=3).mean()[-1]
    fp_noise = qsgd.effective_noise(problem_b, qsgd.QuantConfig(), B)
    for name, quant in batch_configs.items():
        run = qsgd.simulate(problem_b, n_batch, GAMMA, quant, batch_size=B, n_reps=REPS, w0=problem_b.w_star, seed=3)
        measured_ratio[name].append(run.mean()[-1] / fp)
        predicted_ratio[name].append(qsgd.effective_noise(problem_b, quant, B) / fp_noise)
print(f"{'risk / full precision at the same B':>36}" + "".join(f"{'B=' + str(b):>16}" for b in batch_sizes))
for name in batch_configs:
    cells = "".join(f"{m:8.2f} ({p:5.2f})" for m, p in zip(measured_ratio[name], predicted_ratio[name], strict=True))
    print(f"{name:>36}{cells}")
print("(in parentheses: the effective-noise ratio predicted by Theorem 4.1 / Corollary 4.1)")

fig, ax = plt.subplots(figsize=(6.5, 4))
for i, name in enumerate(batch_configs):
    ax.plot(batch_sizes, measured_ratio[name], "o-", color=f"C{i}", label=f"{name}: measured")
    ax.plot(batch_sizes, predicted_ratio[name], "x--", color=f"C{i}", alpha=0.7, label="predicted (noise ratio)")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
ax.set_xlabel("batch size B")
ax.set_ylabel("excess risk / full precision (same B)")
ax.set_title("Which quantization errors does a larger batch suppress?")
ax.legend(fontsize=7)
fig.tight_layout()
savefig(fig, "batch_effect")

# %%
add_ag = np.array(measured_ratio["additive act+grad (eps=1)"])
add_p = np.array(measured_ratio["additive params (eps=0.5)"])
mul_ag = np.array(measured_ratio["multiplicative act+grad (eps=0.1)"])
verdict(
    "additive activation/gradient errors are suppressed by 1/B, like label noise (Cor. 4.1)",
    add_ag.max() / add_ag.min() < 1.25,
    "the ratio to full precision at the same B stays within 25% over B = 1, 4, 16",
    measured=f"ratios {np.round(add_ag, 2).tolist()}",
)
verdict(
    "additive parameter errors are not suppressed by B (Cor. 4.1)",
    add_p[-1] > add_p[0],
    "the ratio to full precision at the same B is larger at B = 16 than at B = 1",
    measured=f"ratios {np.round(add_p, 2).tolist()}",
)
verdict(
    "shared multiplicative activation/gradient errors are not suppressed by B (Thm 4.2)",
    mul_ag[-1] > mul_ag[0],
    "the ratio to full precision at the same B is larger at B = 16 than at B = 1",
    measured=f"ratios {np.round(mul_ag, 3).tolist()}",
)


# %% [markdown]
# ## The bound shapes beside the measurements
#
# `qsgd.bound_shapes` evaluates $\text{VarErr} + \text{BiasErr} + \text{ApproxErr}$ of Theorem 4.1
# (Zou et al.'s terms on the spectrum of $H^{(q)}$, constants dropped) at every checkpoint.  A bound
# of the right *shape* keeps measured/bound within a constant factor over the whole range of $N$.

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
spread = {}
for i, name in enumerate(["full precision", "additive eps=0.01", "multiplicative eps=0.01"]):
    run = runs[name]
    shape = qsgd.bound_shapes(problem, configs[name], run.checkpoints, GAMMA)["total"]
    ratio = run.mean(quantized=True) / shape
    spread[name] = ratio.max() / ratio.min()
    ax.loglog(run.checkpoints, run.mean(quantized=True), color=f"C{i}", label=f"{name}: measured")
    ax.loglog(run.checkpoints, shape, color=f"C{i}", ls="--", label="bound shape")
ax.set_xlabel("N (SGD steps)")
ax.set_ylabel("excess risk (quantized features)")
ax.set_title(f"Measured risk and Theorem 4.1's shape (d = {d}, B = 1)")
ax.legend(fontsize=8)
fig.tight_layout()
savefig(fig, "bound_shapes")
shape_d = {
    kind: np.array(
        [
            qsgd.bound_shapes(qsgd.LinearRegression.power_law(dim), qsgd.QuantConfig(data=q), [N_STEPS], GAMMA)[
                "total"
            ][0]
            for dim in DIMS
        ]
    )
    for kind, q in [
        ("full precision", qsgd.NONE),
        ("additive", kinds["additive"]),
        ("multiplicative", kinds["multiplicative"]),
    ]
}
bound_add = shape_d["additive"] - shape_d["full precision"]
bound_mul = shape_d["multiplicative"] - shape_d["full precision"]
verdict(
    "the excess risk follows the shape of Theorem 4.1's bound",
    max(spread.values()) < 3.0,
    "measured / bound shape stays within a factor 3 over all N, for full precision, additive and multiplicative",
    measured="max/min of measured/bound: " + ", ".join(f"{k}: {v:.2f}" for k, v in spread.items()),
)
verdict(
    "the bound grows with d for additive and not for multiplicative quantization (Cor. 4.3)",
    all(np.diff(bound_add) > 0) and bound_mul.max() / bound_mul.min() < 1.10,
    f"at N = {N_STEPS}, bound minus full-precision bound: strictly increasing in d (additive), within 10% "
    "(multiplicative)",
    measured=f"additive {np.round(bound_add, 4).tolist()}, multiplicative {np.round(bound_mul, 4).tolist()}",
)
print(
    "Batch sizes: the predicted effective-noise ratios get the direction right for every configuration "
    "but overshoot the growth of the unsuppressed errors (parameters, shared multiplicative) at large B: "
    "they treat the undefined alpha_B as 1 and drop all constants (interpretation (f))."
)


# %% [markdown]
# ## Summary
#
# Each verdict above is computed from this notebook's measurements.  Set
# `CVXPAR_NOTEBOOK_SIZE=full` for $N = 20\,000$ steps and 200 replicas.

# %%
summary()
