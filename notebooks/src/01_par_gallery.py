# %% [markdown]
# # 1. A gallery of PARs and their proximal maps
#
# A **piecewise-affine regularizer** (PAR) is a continuous scalar function $\psi$ that is affine
# between breakpoints $q_1 < \dots < q_m$; on a vector, $\Psi(x) = \sum_i \psi(x_i)$.  Ma & Xiao
# (2025, arXiv 2508.11112) and PARQ (Jin et al. 2025, arXiv 2503.15748) use it to *induce
# quantization*: the breakpoints are the grid $Q$ we want the solution to sit on.
#
# Everything a first-order method needs from $\psi$ is its **proximal map**
#
# $$\operatorname{prox}_{t\psi}(v) = \arg\min_x \; t\,\psi(x) + \tfrac12 (x - v)^2 .$$
#
# This notebook draws the six families shipped in `cvxpar.pars` on one grid, their proximal maps
# for a few $t$, and checks four facts about those maps against brute force.
#
# | family | curvature | what it imitates |
# |---|---|---|
# | `l1` | convex | $\lvert x\rvert$, slopes $1, 1+\varepsilon, 1+2\varepsilon,\dots$ away from 0 |
# | `ridge` | convex | interpolates $x^2/2$ on the grid |
# | `parq` | convex | PARQ's PAR: slopes at interval midpoints, hard walls at the ends |
# | `mcp` | nonconvex | interpolated MCP plus $\beta\,\mathrm{dist}(x, Q)$ |
# | `sawtooth` | nonconvex | $\mathrm{dist}(x, Q)$, the W shape of ProxQuant |
# | `staircase` | quasiconvex | slope 1 on the first half of each cell, flat on the rest |

# %%
grid = cvxpar.grids.uniform(step=0.5, n_levels=7)  # {-1.5, -1, ..., 1.5}
families = {
    "l1": cvxpar.pars.l1(grid, eps=0.25),
    "ridge": cvxpar.pars.ridge(grid),
    "parq": cvxpar.pars.parq(grid),
    "mcp": cvxpar.pars.mcp(grid, gamma=1.0),
    "sawtooth": cvxpar.pars.sawtooth(grid),
    "staircase": cvxpar.pars.staircase(grid),
}
for name, psi in families.items():
    print(f"{name:>10}: {psi.curvature:<11} {psi.n_breakpoints:2d} breakpoints, slopes {np.round(psi.slopes, 3)}")

# %% [markdown]
# ## The regularizers
#
# A breakpoint is a **convex kink** when the slope increases through it ($s_{j+1} > s_j$) and a
# **concave kink** when it decreases.  Only convex kinks attract: near a convex kink $\psi$ behaves
# like $c\,\lvert x - q_j\rvert$, the same nonsmoothness that makes the Lasso produce exact zeros.
# Convex kinks are drawn as filled dots, concave ones as open circles.


# %%
def kink_kinds(psi):
    """Boolean masks (convex, concave) over the breakpoints of psi."""
    jump = np.diff(psi.slopes)  # s_{j+1} - s_j at breakpoint j
    return jump > 1e-12, jump < -1e-12


x = np.linspace(-2.2, 2.2, 2001)
fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True)
for ax, (name, psi) in zip(axes.flat, families.items(), strict=True):
    y = psi(x)
    ax.plot(x, np.where(np.isfinite(y), y, np.nan), lw=2)
    convex, concave = kink_kinds(psi)
    q, v = psi.breakpoints, psi.values
    ax.plot(q[convex], v[convex], "o", color="C3", label="convex kink")
    ax.plot(q[concave], v[concave], "o", mfc="white", color="C2", label="concave kink")
    if not np.isfinite(psi.right_slope):
        ax.axvline(q[-1], color="k", ls=":", lw=1)
        ax.axvline(q[0], color="k", ls=":", lw=1)
    ax.set_title(f"{name} ({psi.curvature})")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$\psi(x)$")
    ax.grid(alpha=0.3)
axes[0, 0].legend(loc="upper center", fontsize=8)
fig.suptitle(r"Six PARs on the grid $Q=\{-1.5,-1,\dots,1.5\}$ (dotted lines: the hard box of parq)")
fig.tight_layout()
savefig(fig, "psi")

# %% [markdown]
# ## Their proximal maps
#
# For a **convex** PAR with slopes $s_0 \le s_1 \le \dots \le s_m$ the prox has a closed form
# (Ma & Xiao 2025, eq. (23); PARQ eq. (7)): it is a staircase of plateaus joined by unit-slope
# pieces,
#
# $$\operatorname{prox}_{t\psi}(v) = \begin{cases} q_k & v \in [\,q_k + t s_k,\; q_k + t s_{k+1}\,] \quad\text{(plateau of width } t(s_{k+1}-s_k))\\ v - t s_k & v \in [\,q_{k-1} + t s_k,\; q_k + t s_k\,] \quad\text{(shift)}\end{cases}$$
#
# so a whole interval of inputs lands *exactly* on each grid point, and the interval grows with $t$.
# For a **nonconvex** PAR the prox is a global minimizer of a nonconvex 1-D problem; it can jump
# (it is discontinuous where two candidates tie), and `cvxpar` breaks ties toward the smaller
# $\lvert x\rvert$.

# %%
ts = [0.1, 0.4, 1.0]
v = np.linspace(-2.5, 2.5, 4001)
fig, axes = plt.subplots(2, 3, figsize=(12, 7), sharex=True, sharey=True)
for ax, (name, psi) in zip(axes.flat, families.items(), strict=True):
    ax.plot(v, v, color="0.7", ls="--", lw=1, label="identity")
    for t in ts:
        ax.plot(v, psi.prox(v, t), lw=1.6, label=f"t = {t}")
    for qk in grid:
        ax.axhline(qk, color="0.85", lw=0.6, zorder=0)
    ax.set_title(f"prox of t*{name}")
    ax.set_xlabel("$v$")
    ax.set_ylabel(r"$\mathrm{prox}_{t\psi}(v)$")
axes[0, 0].legend(fontsize=8)
fig.suptitle("Proximal maps: flat pieces are the inputs sent exactly onto a grid point (grey lines)")
fig.tight_layout()
savefig(fig, "prox")

# %% [markdown]
# ## Check 1: the prox is a global minimizer
#
# For every family and every $t$ we compare the objective $F_v(x) = t\psi(x) + \tfrac12(x-v)^2$ at
# `psi.prox(v, t)` with its minimum over a fine grid of candidates $x$ (step $10^{-4}$, containing
# every breakpoint).  The prox must do at least as well as every candidate.

# %%
n_v = 801 if FULL else 161
vs = np.linspace(-2.5, 2.5, n_v)
candidates = np.union1d(np.linspace(-3, 3, 60001), grid)
worst = 0.0
for psi in families.values():
    psi_c = psi(candidates)
    for t in ts:
        p = psi.prox(vs, t)
        f_prox = t * psi(p) + 0.5 * (p - vs) ** 2
        f_best = np.min(t * psi_c[None, :] + 0.5 * (candidates[None, :] - vs[:, None]) ** 2, axis=1)
        worst = max(worst, float(np.max(f_prox - f_best)))
verdict(
    "prox_{t psi}(v) is a global minimizer, for convex, quasiconvex and nonconvex psi",
    worst <= 1e-12,
    f"F_v(prox) <= min over 60,001 candidates + 1e-12, for all families, t in {{0.1, 0.4, 1}}, {n_v} values of v",
    theorem=True,
    measured=f"max F_v(prox) - min_candidates F_v = {worst:.2e}",
)

# %% [markdown]
# ## Check 2: the plateau of a convex PAR at $q_k$ has width $t\,(s_{k+1} - s_k)$
#
# We measure the set of inputs that land on each interior grid point, on a fine grid of $v$, and
# compare its width with the closed form.  The measurement is accurate to the $v$ spacing.

# %%
dv = 1e-4
v_fine = np.arange(-4, 4, dv)
errors = []
rows = []
for name in ("l1", "ridge", "parq"):
    psi = families[name]
    for t in ts:
        p = psi.prox(v_fine, t)
        for j, qk in enumerate(psi.breakpoints[1:-1], start=1):
            hit = v_fine[p == qk]
            measured = hit[-1] - hit[0] + dv if hit.size else 0.0
            predicted = t * (psi.slopes[j + 1] - psi.slopes[j])
            errors.append(abs(measured - predicted))
            if j == 3:
                rows.append((name, t, qk, measured, predicted))
print(f"{'psi':>6} {'t':>5} {'q_k':>5} {'measured':>9} {'t(s_k+1 - s_k)':>15}")
for name, t, qk, measured, predicted in rows:
    print(f"{name:>6} {t:5.2f} {qk:5.2f} {measured:9.4f} {predicted:15.4f}")
verdict(
    "plateau widths of a convex PAR's prox are t*(s_{k+1} - s_k) (Ma & Xiao eq. (23), PARQ eq. (7))",
    max(errors) <= 2 * dv,
    f"|measured - predicted| <= 2 * (v spacing {dv:g}) at every interior grid point",
    theorem=True,
    measured=f"max error {max(errors):.1e} over {len(errors)} plateaus",
)

# %% [markdown]
# ## Check 3: the prox never lands on a concave kink
#
# At a concave kink the one-sided derivatives of $F_v$ satisfy $F_v'(q^-) = t s_j + q - v >
# t s_{j+1} + q - v = F_v'(q^+)$, so $q$ cannot be a minimizer.  Quantization therefore happens only
# at convex kinks: this is why the nonconvex and quasiconvex families are built with a convex kink
# at every grid point.

# %%
landed = {}
for name in ("mcp", "sawtooth", "staircase"):
    psi = families[name]
    _, concave = kink_kinds(psi)
    concave_points = psi.breakpoints[concave]
    outputs = np.concatenate([psi.prox(v_fine, t) for t in ts])
    landed[name] = int(np.isin(outputs, concave_points).sum())
print("outputs on a concave kink:", landed)
verdict(
    "the prox of a PAR never outputs a concave kink",
    sum(landed.values()) == 0,
    f"no output equals a concave kink, over {v_fine.size:,} inputs x 3 values of t x 3 nonconvex families",
    theorem=True,
    measured=f"{sum(landed.values())} outputs on concave kinks",
)

# %% [markdown]
# ## Check 4: large $t$ turns the sawtooth into hard rounding
#
# For $\psi(x) = a\,\mathrm{dist}(x, \delta\mathbb{Z})$ the prox soft-thresholds the distance to the
# nearest grid point: $\operatorname{prox}_{t\psi}(v) = p + \operatorname{sgn}(r)\max(\lvert r\rvert - ta, 0)$
# with $p$ the nearest grid point and $r = v - p$.  Once $ta \ge \delta/2$ it *is* rounding
# (`cvxpar.snap`), on the grid's range.

# %%
psi = families["sawtooth"]
inside = v_fine[(v_fine >= grid[0]) & (v_fine <= grid[-1])]
off_mid = inside[np.abs(np.abs(inside - cvxpar.snap(inside, grid)) - 0.25) > 1e-9]  # drop exact ties
mismatch = {t: int(np.sum(psi.prox(off_mid, t) != cvxpar.snap(off_mid, grid))) for t in (0.1, 0.25, 0.4, 1.0)}
print("inputs where prox != rounding, by t:", mismatch)
verdict(
    "sawtooth prox equals rounding to the grid once t*a >= delta/2 (here t >= 0.25)",
    all(mismatch[t] == 0 for t in (0.25, 0.4, 1.0)) and mismatch[0.1] > 0,
    "prox == snap on every non-tie input of [-1.5, 1.5] for t >= 0.25, and not for t = 0.1",
    theorem=True,
    measured=f"mismatches {mismatch}",
)

# %% [markdown]
# ## PARQ's view: straight-through rounding is the limit of the aggregate prox
#
# AProx (PARQ, Sec. 3) applies $\operatorname{prox}_{\gamma_t\psi}$ to the *accumulated* latent
# weights, with the aggregate step $\gamma_t = \sum_{s\le t}\eta_s \to \infty$.  On the rescaled
# axis $v = u/\gamma$ the map $v \mapsto \operatorname{prox}_{\gamma\psi}(\gamma v)$ keeps plateaus of
# fixed width $s_{k+1} - s_k$, while the sloped pieces get steeper (slope $\gamma$): with PARQ's
# midpoint slopes the limit is rounding to the nearest grid point, i.e. the STE's quantizer
# (PARQ Fig. 7-8).  How far from rounding is it?  Near the midpoint between $q_k$ and $q_{k+1}$
# (both $\ge 0$) the rescaled map still returns $q_k$, or a value in between, until
# $v = \tfrac{q_k+q_{k+1}}{2} + q_{k+1}/\gamma$: a mismatch of length $q_{k+1}/\gamma$.  Once the
# plateaus are wider than these shifts ($\gamma > \max_k \lvert q_k\rvert/\delta$), the fraction of
# the box $[q_0, q_m]$ where the map differs from rounding is exactly
# $\sum_k \lvert q_k\rvert / (\gamma\,(q_m - q_0))$.

# %%
psi = families["parq"]
gammas = [1, 3, 10, 30, 100, 1000]
v_box = np.linspace(grid[0], grid[-1], 30001)
frac = {g: float(np.mean(np.abs(psi.prox(g * v_box, g) - cvxpar.snap(v_box, grid)) > 1e-9)) for g in gammas}
predicted = {g: np.sum(np.abs(grid)) / (g * (grid[-1] - grid[0])) for g in gammas}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for g in (1, 3, 10, 100):
    ax1.plot(v_box, psi.prox(g * v_box, g), label=rf"$\gamma$ = {g}")
ax1.plot(v_box, cvxpar.snap(v_box, grid), "k:", label="rounding (STE)")
ax1.set_xlabel(r"$v = u/\gamma$")
ax1.set_ylabel(r"$\mathrm{prox}_{\gamma\psi}(\gamma v)$")
ax1.set_title("PARQ's PAR: the rescaled aggregate prox")
ax1.legend(fontsize=8)
ax2.loglog(gammas, [frac[g] for g in gammas], "o-", label="measured")
ax2.loglog(gammas, [predicted[g] for g in gammas], "k--", label=r"$\sum_k|q_k| / (\gamma (q_m - q_0))$")
ax2.set_xlabel(r"$\gamma$")
ax2.set_ylabel("fraction of inputs where prox != rounding")
ax2.legend()
ax2.set_title("Distance to the STE quantizer")
fig.tight_layout()
savefig(fig, "parq_limit")
print({g: round(f, 5) for g, f in frac.items()})
large = [g for g in gammas if g > np.max(np.abs(grid)) / 0.5]
err = max(abs(frac[g] - predicted[g]) for g in large)
verdict(
    "prox_{gamma psi}(gamma v) -> rounding as gamma -> inf, at rate 1/gamma (PARQ Sec. 3, Fig. 7-8)",
    all(np.diff([frac[g] for g in gammas]) < 0) and err <= 5e-4,
    "the mismatch fraction decreases in gamma and equals sum|q_k| / (gamma (q_m - q_0)) within 5e-4 "
    f"(the v resolution) for gamma in {large}",
    theorem=True,
    measured=f"fraction at gamma=1000: {frac[1000]:.4f} (predicted {predicted[1000]:.4f}); max error {err:.1e}",
)


# %% [markdown]
# ## Summary
#
# Every check above is computed from the numbers measured in this notebook.

# %%
summary()
