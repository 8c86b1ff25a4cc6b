# %% [markdown]
# # 2. Critical points are quantized
#
# **The claim** (Ma & Xiao 2025, arXiv 2508.11112, Theorems 1-2, as summarized in the abstract):
# in the overparameterized regime, with $n$ samples and $d > n$ parameters, *every critical point*
# of a PAR-regularized loss $F(x) = f(x) + \lambda\Psi(x)$ has at least $d - n$ coordinates on the
# grid, i.e. a **quantization rate of at least $1 - n/d$**.
#
# **Why.**  Take $f(x) = \ell(Ax)$ with $A \in \mathbb{R}^{n\times d}$ (here least squares,
# $f(x) = \frac{1}{2n}\lVert Ax - b\rVert^2$), so $\nabla f(x) = A^\top v$ for some $v \in \mathbb{R}^n$.
# At a critical point, $0 \in \nabla f(x) + \lambda\,\partial\Psi(x)$.  A coordinate $x_j$ strictly
# inside an affine piece of $\psi$ has $\partial\psi(x_j) = \{s_j\}$, one of finitely many slopes, so
# on the set $J$ of such *free* coordinates
#
# $$ (A^\top v)_J = -\lambda\, s_J , $$
#
# $\lvert J\rvert$ equations for only $n$ unknowns $v$.  For data in generic position (e.g. Gaussian
# $A$) and nonzero slopes this has no solution once $\lvert J\rvert > n$, almost surely; hence
# $\lvert J\rvert \le n$.  The argument needs every slope of $\psi$ to be nonzero (a flat piece
# allows $s_j = 0$, and then $v = 0$, interpolation, frees any number of coordinates) and a
# *proper* critical point (the prox never stops at a concave kink, notebook 1).  The exact
# hypotheses of the paper's theorems (Ma & Xiao 2025, arXiv 2508.11112) were not available to us;
# this is the mechanism they rest on.
#
# **The experiment.**  For convex (`ridge`, `l1`, `parq`), nonconvex (`mcp`, `sawtooth`) and
# quasiconvex (`staircase`, which has flat pieces and so is *outside* the hypothesis) PARs on the
# grid $Q = \{-3, -2.5, \dots, 3\}$, we solve $\min_x \frac{1}{2n}\lVert Ax-b\rVert^2 + \lambda\Psi(x)$
# with `cvxpar.solve` across $n/d$ and $\lambda$, keep the solutions that `cvxpar.certificate`
# certifies as critical points, and compare their quantization rate with $1 - n/d$.  Nonconvex
# problems have many critical points: we start them from several random points.

# %%
D = 200 if FULL else 60
RATIOS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9] if FULL else [0.1, 0.3, 0.6]
LAMBDAS = [0.01, 0.03, 0.1, 0.3, 1.0] if FULL else [0.03, 0.3]
STARTS = 3 if FULL else 2  # random starting points for the nonconvex / quasiconvex PARs
grid = cvxpar.grids.uniform(step=0.5, n_levels=13)
families = {
    "ridge": cvxpar.pars.ridge(grid),
    "l1": cvxpar.pars.l1(grid, eps=0.25),
    "parq": cvxpar.pars.parq(grid),
    "mcp": cvxpar.pars.mcp(grid, gamma=2.0),
    "sawtooth": cvxpar.pars.sawtooth(grid),
    "staircase": cvxpar.pars.staircase(grid),
}
for name, psi in families.items():
    flat = bool(np.any(psi.slopes == 0))
    print(f"{name:>10}: {psi.curvature:<11} zero slope: {flat}")

# %% [markdown]
# ## Solving and certifying
#
# `cvxpar.solve` returns `status="optimal"` for a convex problem and `"stationary"` for a nonconvex
# one only when its certificate holds: the distance of $-\nabla f(x)$ from $\lambda\,\partial\Psi(x)$
# is below the tolerance.  We recompute that certificate independently with `cvxpar.certificate`
# and count a coordinate as quantized when it is within $10^{-8}$ of a grid point.

# %%
rng = np.random.default_rng(0)
x_true = rng.uniform(-2.5, 2.5, D)
rows = []
losses = {}  # ratio -> loss, kept for the close-up below
solutions = {}  # (family, ratio, lambda) -> result from the first start
for ratio in RATIOS:
    n = int(round(ratio * D))
    A = rng.standard_normal((n, D))
    b = A @ x_true + 0.1 * rng.standard_normal(n)
    loss = cvxpar.losses.LeastSquares(A / np.sqrt(n), b / np.sqrt(n))  # (1/2n)||Ax - b||^2
    losses[ratio] = loss
    for lam in LAMBDAS:
        for name, psi in families.items():
            starts = [None] if psi.is_convex else [None, *(rng.uniform(-3, 3, D) for _ in range(STARTS - 1))]
            for x0 in starts:
                res = cvxpar.solve(loss, psi, lam, x0=x0)
                solutions.setdefault((name, ratio, lam), res)
                cert = cvxpar.certificate(loss, psi, lam, res.x)
                rate = cvxpar.quantization_rate(res.x, grid)
                rows.append(
                    dict(
                        family=name,
                        ratio=n / D,
                        n=n,
                        lam=lam,
                        rate=rate,
                        free=int(round((1 - rate) * D)),
                        certified=res.status in ("optimal", "stationary") and cert.certifies(1e-6),
                        residual=cert.residual,
                        status=res.status,
                    )
                )
print(f"{len(rows)} solves; certified critical points: {sum(r['certified'] for r in rows)}")

# %%
print(f"{'family':>10} {'n/d':>5} {'lambda':>7} {'rate':>6} {'1-n/d':>6} {'free':>5} {'<= n':>5} {'status':>11}")
for r in rows:
    print(
        f"{r['family']:>10} {r['ratio']:5.2f} {r['lam']:7.3f} {r['rate']:6.3f} {1 - r['ratio']:6.3f} "
        f"{r['free']:5d} {str(r['free'] <= r['n']):>5} {r['status']:>11}"
    )

# %%
fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), sharex=True, sharey=True)
ratios = np.linspace(0, 1, 101)
for ax, name in zip(axes.flat, families, strict=True):
    ax.fill_between(ratios, 0, 1 - ratios, color="0.9", label="excluded by the bound")
    ax.plot(ratios, 1 - ratios, "k--", lw=1, label="1 - n/d")
    for i, lam in enumerate(LAMBDAS):
        pts = [r for r in rows if r["family"] == name and r["lam"] == lam and r["certified"]]
        ax.plot([r["ratio"] for r in pts], [r["rate"] for r in pts], "o", color=f"C{i}", alpha=0.7, label=f"λ = {lam}")
    ax.set_title(f"{name} ({families[name].curvature})")
    ax.set_xlabel("n/d")
    ax.set_ylabel("quantization rate of the critical point")
    ax.set_ylim(0, 1.02)
axes[0, 0].legend(fontsize=8, loc="lower left")
fig.suptitle(f"Certified critical points against the bound 1 - n/d (d = {D})")
fig.tight_layout()
savefig(fig, "rate_vs_ratio")

# %% [markdown]
# ## Measured against the bound
#
# The theorem covers the PARs whose slopes are all nonzero (every family here except `staircase`).

# %%
covered = [r for r in rows if r["certified"] and r["family"] != "staircase"]
worst = min(r["rate"] - (1 - r["ratio"]) for r in covered)
verdict(
    "every critical point has quantization rate >= 1 - n/d (convex and nonconvex PARs, d > n)",
    len(covered) > 0 and worst >= -1e-12,
    "rate - (1 - n/d) >= 0 for every certified critical point of ridge, l1, parq, mcp, sawtooth",
    measured=f"min over {len(covered)} critical points of rate - (1 - n/d) = {worst:+.3f}",
    theorem=True,
)
tight = [r for r in covered if r["free"] == r["n"]]
verdict(
    "the bound is attained: some critical points have exactly n free coordinates",
    len(tight) > 0,
    "at least one certified critical point with #free = n",
    measured=f"{len(tight)} of {len(covered)} critical points have #free = n",
)
stair = [r for r in rows if r["certified"] and r["family"] == "staircase"]
above = [r for r in stair if r["free"] > r["n"]]
verdict(
    "the nonzero-slope hypothesis matters: a PAR with flat pieces (staircase) can break the bound",
    len(above) > 0,
    "some certified critical point of the staircase PAR has more than n free coordinates",
    measured=f"{len(above)} of {len(stair)} staircase critical points; worst rate - (1 - n/d) = "
    f"{min((r['rate'] - 1 + r['ratio'] for r in stair), default=float('nan')):+.3f}",
)
uncertified = [r for r in rows if not r["certified"]]
print(
    f"{len(uncertified)} solves were not certified (left out above):", [(r["family"], r["status"]) for r in uncertified]
)

# %% [markdown]
# ## What a critical point looks like
#
# Plot each coordinate as the point $(x_j, -\nabla_j f(x)/\lambda)$.  Criticality says it lies on the
# graph of $\partial\psi$: a *vertical* segment at a grid point (quantized: any value in
# $[s_k, s_{k+1}]$ is allowed) or a *horizontal* segment at a slope (free: exactly $s_k$).  The
# free coordinates must satisfy $n$-dimensional equations, so there are at most $n$ of them.

# %%
psi = families["ridge"]
# the most overparameterized certified ridge solution
ratio, lam = next((r, lam) for r in RATIOS for lam in LAMBDAS if solutions["ridge", r, lam].status == "optimal")
n, loss, res = int(round(ratio * D)), losses[ratio], solutions["ridge", ratio, lam]
print(res)
g = -loss.grad(res.x) / lam
on_grid = np.abs(res.x - cvxpar.snap(res.x, grid)) <= 1e-8
fig, ax = plt.subplots(figsize=(7, 4.5))
xs = np.linspace(-3.2, 3.2, 2001)
lo, hi = psi.subdifferential(xs)
ax.plot(xs, lo, color="0.6", lw=1)
for q in psi.breakpoints:
    slo, shi = psi.subdifferential(np.array([q]))
    ax.plot([q, q], [slo[0], shi[0]], color="0.6", lw=1)
ax.plot(res.x[on_grid], g[on_grid], "o", ms=4, color="C0", label=f"quantized ({on_grid.sum()})")
ax.plot(res.x[~on_grid], g[~on_grid], "s", ms=5, color="C3", label=f"free ({(~on_grid).sum()}; n = {n})")
ax.set_xlabel("$x_j$")
ax.set_ylabel(r"$-\nabla_j f(x) / \lambda$")
ax.set_title(rf"ridge PAR, d = {D}, n = {n}, $\lambda$ = {lam}: coordinates on the graph of $\partial\psi$")
ax.legend()
fig.tight_layout()
savefig(fig, "subdifferential_graph")
verdict(
    "a critical point has at most n free coordinates (this instance)",
    res.status == "optimal" and (~on_grid).sum() <= n,
    "the solve is certified optimal and #free <= n",
    measured=f"#free = {(~on_grid).sum()}, n = {n}, d = {D}",
    theorem=True,
)

# %% [markdown]
# ## Summary

# %%
summary()
