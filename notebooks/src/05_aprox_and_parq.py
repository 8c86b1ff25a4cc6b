# %% [markdown]
# # 5. AProx and PARQ: quantization-aware training in miniature
#
# PARQ (Jin, Ma, Liu, Gromov, Defazio & Xiao, ICML 2025, arXiv 2503.15748) trains a model whose
# weights end on a grid $Q$.  Its starting point is a convex PAR $\Psi$ with kinks on $Q$ and the
# problem $\min_w f(w) + \lambda\Psi(w)$, with $f$ an expected loss that we only see through
# stochastic gradients.
#
# **Why not Prox-SGD?**  $w^{t+1} = \operatorname{prox}_{\eta_t\lambda\Psi}(w^t - \eta_t g^t)$ sends an
# interval of width $\eta_t\lambda(a_k - a_{k-1})$ onto each $q_k$; as the step $\eta_t \to 0$ these
# plateaus vanish and so does quantization (PARQ §3, the same reason Prox-SGD on the $\ell_1$ norm
# gives no exact zeros).
#
# **AProx** (PARQ eq. 11) aggregates instead: the latent $u$ accumulates the gradient steps and the
# prox is applied once, with the *aggregate* step $\gamma_t = \sum_{s\le t}\eta_s \to \infty$:
#
# $$u^{t+1} = u^t - \eta_t\,\nabla f(w^t, z^t), \qquad w^{t+1} = \operatorname{prox}_{\gamma_t\lambda\Psi}(u^{t+1}).$$
#
# Its plateaus grow, and its last iterate converges: $\mathbb{E}F(w^t) - F^\star \le GR\,(2 + 1.5\ln t)/\sqrt t$
# (Theorem 3.2).  **PARQ** (Algorithm 1) is the practical version: the map $w = $ `parq_map(u)`, a line
# through each interval's midpoint whose slope $1/\iota_t$ is annealed from 1 (identity) to
# $\infty$ (rounding), which is the STE's quantizer in the limit.  The paper compares it with
# **STE** (always round: $w = Q(u)$) and **BinaryRelax** ($w = (1-\theta_t)u + \theta_t Q(u)$,
# $\theta_t: 0 \to 1$).
#
# We train a logistic regression on the breast-cancer data shipped with scikit-learn (569 samples,
# 30 features, plus an intercept that is quantized too) with `cvxpar.solve(method="aprox",
# mapping=...)`, which implements all four maps.  **Interpretations:** the grid is fixed from the
# full-precision weights (PARQ re-estimates it online with LSBQ); the step size is
# $\eta_t = \eta_0/\sqrt t$ with $\eta_0 = 10/L$ for every method; the annealing window is the first 90%
# of training; the data are a tiny stand-in for the paper's CIFAR/ImageNet networks, so only the
# *shape* of its findings can be compared, not its numbers.

# %%
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X_all, y_all = load_breast_cancer(return_X_y=True)
y_all = 2 * y_all - 1  # labels in {-1, +1}
X_tr, X_te, y_tr, y_te = train_test_split(X_all, y_all, test_size=0.3, random_state=0, stratify=y_all)
mu, sd = X_tr.mean(0), X_tr.std(0)
A_tr = np.hstack([(X_tr - mu) / sd, np.ones((len(X_tr), 1))])  # last column: the intercept
A_te = np.hstack([(X_te - mu) / sd, np.ones((len(X_te), 1))])
loss = cvxpar.losses.Logistic(A_tr, y_tr)  # sum_i log(1 + exp(-y_i a_i^T w))
L = loss.lipschitz()
EPOCHS = 150 if FULL else 40
SEEDS = [0, 1, 2, 3, 4] if FULL else [0, 1, 2]
common = dict(method="aprox", epochs=EPOCHS, batch_size=32, eta0=10 / L)


def accuracy(w):
    return float(np.mean(np.sign(A_te @ w) == y_te))


w_fp = LogisticRegression(C=1.0, fit_intercept=False, max_iter=10_000).fit(A_tr, y_tr).coef_[0]
print(f"{A_tr.shape[0]} training samples, d = {A_tr.shape[1]}; full-precision test accuracy {accuracy(w_fp):.3f}")

# %% [markdown]
# ## Part 1: aggregation is what keeps the quantization
#
# PARQ's PAR on the grid $Q = \{-1, -0.5, 0, 0.5, 1\}$ (`cvxpar.pars.parq`: slopes at interval
# midpoints, hard walls at $\pm1$), $\lambda = 5$.  The problem is convex, so `cvxpar.solve` gives its
# exact minimizer $w^\star$, and we can watch both stochastic methods approach it.  Prox-SGD is five
# lines of NumPy on the same minibatches and steps.

# %%
grid = cvxpar.grids.uniform(step=0.5, n_levels=5)
psi = cvxpar.pars.parq(grid)
lam = 5.0
opt = cvxpar.solve(loss, psi, lam)
print(f"exact minimizer: {opt.status}, F* = {opt.objective:.4f}, quantization rate {opt.quantization_rate:.2f}")

aprox = cvxpar.solve(loss, psi, lam, mapping="aprox", seed=0, **common)
hist = aprox.info["history"]


def prox_sgd(epochs, batch_size=32, seed=0):
    """w <- prox_{eta_t lam psi}(w - eta_t g_t), eta_t = eta0 / sqrt(t); returns the rate and F after each epoch."""
    rng = np.random.default_rng(seed)
    n = A_tr.shape[0]
    w, t, rates, objs = np.zeros(A_tr.shape[1]), 0, [], []
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(n), int(np.ceil(n / batch_size))):
            t += 1
            eta = common["eta0"] / np.sqrt(t)
            a, yb = A_tr[batch], y_tr[batch]
            g = -(n / len(batch)) * a.T @ (yb / (1 + np.exp(yb * (a @ w))))  # unbiased gradient of the sum
            w = psi.prox(w - eta * g, eta * lam)
        rates.append(cvxpar.quantization_rate(w, grid))
        objs.append(loss.value(w) + lam * psi(w).sum())
    return w, np.array(rates), np.array(objs)


w_psgd, rate_psgd, obj_psgd = prox_sgd(EPOCHS)
epochs = np.arange(1, EPOCHS + 1)
gap_aprox = np.array(hist["objective"]) - opt.objective
gap_psgd = obj_psgd - opt.objective

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
axes[0].plot(epochs, hist["quantization_rate"], label="AProx (aggregate prox)")
axes[0].plot(epochs, rate_psgd, label="Prox-SGD")
axes[0].axhline(opt.quantization_rate, color="k", ls="--", lw=1, label="exact minimizer")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("fraction of weights on the grid")
axes[0].set_title("Quantization of the iterate during training")
axes[0].legend()
t_steps = np.array(hist["iteration"], dtype=float)
axes[1].loglog(epochs, gap_aprox, label="AProx: F(w_t) - F*")
axes[1].loglog(epochs, np.maximum(gap_psgd, 1e-12), label="Prox-SGD: F(w_t) - F*")
shape = (2 + 1.5 * np.log(t_steps)) / np.sqrt(t_steps)
axes[1].loglog(epochs, shape * gap_aprox[0] / shape[0], "k:", label=r"$\propto (2 + 1.5\ln t)/\sqrt{t}$ (Thm 3.2)")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("optimality gap of the last iterate")
axes[1].set_title(r"Last-iterate convergence ($\lambda$ = 5)")
axes[1].legend(fontsize=8)
fig.tight_layout()
savefig(fig, "aprox_vs_proxsgd")

# %%
verdict(
    "Prox-SGD loses quantization as eta_t -> 0, AProx keeps it (PARQ Sec. 3)",
    rate_psgd[-1] < 0.5 * hist["quantization_rate"][-1],
    "final quantization rate of Prox-SGD < half of AProx's",
    measured=f"Prox-SGD {rate_psgd[-1]:.2f}, AProx {hist['quantization_rate'][-1]:.2f}, minimizer {opt.quantization_rate:.2f}",
)
ratio_start, ratio_end = gap_aprox[0] / shape[0], gap_aprox[-1] / shape[-1]
verdict(
    "AProx's last iterate converges at least as fast as GR(2 + 1.5 ln t)/sqrt(t) (Thm 3.2)",
    gap_aprox[-1] < 0.1 * gap_aprox[0] and ratio_end <= ratio_start,
    "the gap falls by 10x over training and gap / ((2 + 1.5 ln t)/sqrt t) is no larger at the end than after epoch 1",
    measured=f"gap {gap_aprox[0]:.3f} -> {gap_aprox[-1]:.4f}; gap/shape {ratio_start:.2f} -> {ratio_end:.2f}",
)

# %% [markdown]
# ## Part 2: PARQ, STE and BinaryRelax at 1 bit, ternary and 2 bits
#
# The grids, scaled by the mean absolute full-precision weight $s$ (the 1-bit LSBQ level):
# 1 bit $\{\pm s\}$, ternary $\{-s, 0, s\}$ and 2 bits $\{\pm s/2, \pm 3s/2\}$.  The three maps take no
# $\lambda$ (they are not prox maps of a fixed PAR: only AProx minimizes $f + \lambda\Psi$), so
# $\lambda = 0$ and the `objective` in the history is the training loss; they use only the grid of
# $\psi$'s breakpoints, so we pass `ridge(grid)` (no hard walls: the loss stays finite while
# BinaryRelax's weights are still outside the grid's range).  Full precision is the same SGD with no map.

# %%
s = float(np.mean(np.abs(w_fp)))
grids = {
    "1 bit": cvxpar.grids.bits(1, 2 * s),
    "ternary": cvxpar.grids.uniform(step=s, n_levels=3),
    "2 bits": cvxpar.grids.bits(2, s),
}
METHODS = ["ste", "binaryrelax", "parq"]
fp_runs = [cvxpar.solve(loss, cvxpar.pars.l1(), 0.0, seed=seed, **common) for seed in SEEDS]
fp_acc = np.mean([accuracy(r.x) for r in fp_runs])
results = {}
for bits_name, g in grids.items():
    psi_g = cvxpar.pars.ridge(g)  # only its breakpoints (the grid) matter to the maps
    for method in METHODS:
        runs = [cvxpar.solve(loss, psi_g, 0.0, mapping=method, seed=seed, **common) for seed in SEEDS]
        results[bits_name, method] = runs
print(f"test accuracy, mean ± std over {len(SEEDS)} seeds (full-precision SGD: {fp_acc:.3f})")
print(f"{'':>8}" + "".join(f"{m:>16}" for m in METHODS))
table = {}
for bits_name in grids:
    cells = []
    for method in METHODS:
        accs = np.array([accuracy(r.x) for r in results[bits_name, method]])
        table[bits_name, method] = accs
        cells.append(f"{100 * accs.mean():9.2f}±{100 * accs.std():4.2f}")
    print(f"{bits_name:>8}" + "".join(f"{c:>16}" for c in cells))

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
bits_name = "2 bits"
for method in METHODS:
    h = results[bits_name, method][0].info["history"]
    axes[0].plot(epochs, h["quantization_rate"], label=method)
    axes[1].plot(epochs, np.array(h["objective"]) / len(y_tr), label=method)
axes[1].plot(epochs, np.array(fp_runs[0].info["history"]["objective"]) / len(y_tr), "k--", label="full precision")
axes[0].set_title(f"{bits_name}: fraction of weights on the grid")
axes[0].set_xlabel("epoch")
axes[0].legend()
axes[1].set_title(f"{bits_name}: training loss (PARQ Fig. 10 in miniature)")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("mean logistic loss")
axes[1].set_yscale("log")
axes[1].legend()
width = 0.25
lowest = 100 * fp_acc
for j, method in enumerate(METHODS):
    means = np.array([100 * table[b, method].mean() for b in grids])
    stds = np.array([100 * table[b, method].std() for b in grids])
    lowest = min(lowest, float(np.min(means - stds)))
    axes[2].bar(np.arange(len(grids)) + (j - 1) * width, means, width, yerr=stds, capsize=3, label=method)
axes[2].axhline(100 * fp_acc, color="k", ls="--", lw=1, label="full precision")
axes[2].set_xticks(np.arange(len(grids)), list(grids))
# The bars differ by a few points: the axis starts below the lowest bar (minus its spread), not at 0.
axis_start = max(0.0, 5 * np.floor(lowest / 5) - 5)
axes[2].set_ylim(axis_start, 100)
axes[2].set_ylabel(f"test accuracy (%; axis starts at {axis_start:g}, not 0)")
axes[2].set_title("Tables 1-3 in miniature")
axes[2].legend(fontsize=8, loc="lower right")
fig.tight_layout()
savefig(fig, "qat_comparison")

# %% [markdown]
# PARQ's annealed map at three moments of training (PARQ Fig. 11): the slope through each
# interval's midpoint steepens until the map is rounding.

# %%
fig, ax = plt.subplots(figsize=(6, 4))
u = np.linspace(-2.2 * s, 2.2 * s, 2001)
g2 = grids["2 bits"]
for frac in (0.1, 0.45, 0.55, 0.8):
    iota = cvxpar.quantizers.normalized_mirror_sigmoid(frac, 0.0, 1.0, steepness=10.0)
    ax.plot(
        u,
        cvxpar.quantizers.parq_map(u, g2, float(iota)),
        label=f"{int(100 * frac)}% of the window: iota = {float(iota):.2f}",
    )
ax.plot(u, cvxpar.quantizers.hard_quantize(u, g2), "k:", label="STE (rounding)")
ax.set_xlabel("latent weight u")
ax.set_ylabel("weight used by the model")
ax.set_title("PARQ's map during annealing (2 bits)")
ax.legend(fontsize=8)
fig.tight_layout()
savefig(fig, "parq_map")

# %%
final_rates = {k: min(r.info["history"]["quantization_rate"][-1] for r in runs) for k, runs in results.items()}
verdict(
    "every QAT method ends with all weights on the grid",
    min(final_rates.values()) == 1.0,
    "final quantization rate = 1 for STE, BinaryRelax and PARQ, every bit-width and seed",
    measured=f"min final rate {min(final_rates.values()):.2f}",
)
gaps = {b: max(table[b, m].mean() for m in METHODS) - table[b, "parq"].mean() for b in grids}
verdict(
    "PARQ is competitive with STE and BinaryRelax (Tables 1-3)",
    all(gap <= 0.015 for gap in gaps.values()),
    "PARQ's mean test accuracy within 1.5 points of the best method at every bit-width",
    measured=", ".join(f"{b}: {100 * gap:.2f} points behind the best" for b, gap in gaps.items()),
)


def mean_loss(runs, window):
    """Training loss averaged over the seeds and over the epochs in ``window`` (a slice)."""
    return float(np.mean([np.mean(np.array(r.info["history"]["objective"])[window]) for r in runs]))


tenth = max(1, EPOCHS // 10)
early, late = slice(0, tenth), slice(EPOCHS - tenth, EPOCHS)
loss_at = {
    name: (mean_loss(runs, early), mean_loss(runs, late))
    for name, runs in [("parq", results["2 bits", "parq"]), ("ste", results["2 bits", "ste"]), ("fp", fp_runs)]
}
close_early = abs(loss_at["parq"][0] - loss_at["fp"][0]) < abs(loss_at["parq"][0] - loss_at["ste"][0])
close_late = abs(loss_at["parq"][1] - loss_at["ste"][1]) < abs(loss_at["parq"][1] - loss_at["fp"][1])
verdict(
    "PARQ's training loss tracks full precision early and STE late (Fig. 10)",
    close_early and close_late,
    f"2 bits, loss averaged over seeds and over the first / last {tenth} epochs: early, PARQ is closer to full "
    "precision than to STE; late, closer to STE than to full precision",
    measured="early: PARQ {:.2f}, FP {:.2f}, STE {:.2f}; late: PARQ {:.2f}, FP {:.2f}, STE {:.2f}".format(
        loss_at["parq"][0], loss_at["fp"][0], loss_at["ste"][0], loss_at["parq"][1], loss_at["fp"][1], loss_at["ste"][1]
    ),
)


# %% [markdown]
# ## Summary

# %%
summary()
