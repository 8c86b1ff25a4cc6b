"""Small problems in a fresh process: cvxpar vs CVXPY + Clarabel, import and first call included.

    minimize  1/2 ||A x - b||^2 + lam sum_i psi(x_i)   s.t.  -1 <= x <= 1,

A of n = 3d rows (Gaussian), psi the ridge PAR on 7 levels {-1, -2/3, ..., 1}, lam = 0.05 n, for d = 10, 50,
200.  Each measurement is a fresh interpreter (``python -c``) that imports, builds and solves, the two
tools alternating side by side; reported: the medians over ``repeat`` processes of

- **solve**: ``import numpy, cvxpar`` then ``cvxpar.solve(LeastSquares(A, b), psi, lam, Box(-1, 1))``, against
  ``import numpy, cvxpy`` then the same model in plain CVXPY (psi as the max of its affine pieces,
  ``psi.max_affine()``) solved by Clarabel;
- **sweep**: ``import cvxpy, cvxpar``, one ``cp.Problem`` with ``lam = cp.Parameter(nonneg=True)`` and
  ``cvxpar.par``, 20 values of lam (lam_max = ||A^T b||_inf down to 1e-3 lam_max, geometric), each
  ``problem.solve(method="cvxpar")`` (warm-started), against the plain-CVXPY model with the same Parameter
  solved by Clarabel (CVXPY's DPP cache makes its re-solves cheap).

Columns: the time to import, the first solve (solve: build + solve; sweep: the first of the 20 solves,
parse / compilation included), the solves (the first solve, or the whole sweep) and their ratio, the
process's wall time (interpreter start to exit, as the parent measures it), the warm per-solve median of
solves 2-20, and whether numba was loaded.  Every cvxpar answer is certified (its status is shown); the
objective difference is relative to Clarabel's.

A second table, **classes**, times every problem class at small sizes the same way: logistic, Huber (M = 0.5),
least squares, least squares with Box(-1, 1), least squares with Simplex(1), each with the 7-level ridge PAR on
{-1.5, ..., 1.5} and lam = 0.05 n, at d = 20 and 150 with n = d / 3 (wide) and 3 d (tall) rows, ``cvxpar.solve``
(method auto) against the same model built in CVXPY and solved by Clarabel (build + solve, as a user calls it).
Per fresh process: the first call's CPU time (``time.process_time``, a fair single-solve measure on a loaded
machine) and the median CPU time of 3 more calls (warm), medians over ``repeat`` processes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from cvxpar.bench._table import Table

#: size -> (the d's, fresh processes per tool and case)
SIZES = {"small": ((10,), 1), "full": ((10, 50, 200), 5)}
#: size -> (the d's of the classes table, fresh processes per tool and instance)
CLASS_SIZES = {"small": ((20,), 1), "full": ((20, 150), 3)}
#: the classes table's problem classes: (loss, constraint)
CLASSES = {
    "logistic": ("logistic", None),
    "Huber": ("huber", None),
    "least squares": ("ls", None),
    "least squares, Box": ("ls", "box"),
    "least squares, Simplex": ("ls", "simplex"),
}
#: the grid step of the classes table's PAR (LEVELS points on [-1.5, 1.5])
CLASS_STEP = 0.5
#: calls after the first in each classes process (their median CPU time is the warm time)
WARM_CALLS = 3
N_LAMBDAS = 20
LEVELS = 7

_DATA = """
import numpy as np
d = {d}; n = 3 * d
rng = np.random.default_rng(d)
A = rng.standard_normal((n, d)); b = A @ rng.uniform(-1, 1, d) + 0.1 * rng.standard_normal(n)
lam = 0.05 * n
"""

_CVXPAR_PSI = f"psi = cvxpar.pars.ridge(cvxpar.grids.uniform(2 / ({LEVELS} - 1), {LEVELS}))\n"

_CLARABEL_PSI = """
slopes, intercepts = {pieces}
def penalty(x):
    return cp.sum(cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts)]), axis=0))
"""

#: (tool, case) -> (imports, body); the body sets ``first`` (seconds), ``value`` and optionally ``warm``,
#: ``status``, ``total`` (the whole sweep).
_SCRIPTS = {
    ("cvxpar", "solve"): ("import numpy, cvxpar", _DATA + _CVXPAR_PSI + """
t = time.perf_counter()
res = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, lam, cvxpar.constraints.Box(-1, 1))
first = time.perf_counter() - t
value, status = res.objective, res.status
"""),
    ("clarabel", "solve"): ("import numpy, cvxpy as cp", _DATA + _CLARABEL_PSI + """
t = time.perf_counter()
x = cp.Variable(d)
prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * penalty(x)), [x >= -1, x <= 1])
value = prob.solve(solver="CLARABEL")
first = time.perf_counter() - t
status = prob.status
"""),
    ("cvxpar", "sweep"): ("import numpy, cvxpy as cp, cvxpar", _DATA + _CVXPAR_PSI + """
x = cp.Variable(d); lam_p = cp.Parameter(nonneg=True)
prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam_p * cp.sum(cvxpar.par(x, psi))), [x >= -1, x <= 1])
solve = lambda: prob.solve(method="cvxpar")
""" + "{sweep}"),
    ("clarabel", "sweep"): ("import numpy, cvxpy as cp", _DATA + _CLARABEL_PSI + """
x = cp.Variable(d); lam_p = cp.Parameter(nonneg=True)
prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam_p * penalty(x)), [x >= -1, x <= 1])
solve = lambda: prob.solve(solver="CLARABEL")
""" + "{sweep}"),
}

_SWEEP = f"""
lam_max = float(np.max(np.abs(A.T @ b)))
times, statuses = [], []
t_sweep = time.perf_counter()
for v in np.geomspace(lam_max, 1e-3 * lam_max, {N_LAMBDAS}):
    lam_p.value = v
    t = time.perf_counter()
    value = solve()
    times.append(time.perf_counter() - t)
    statuses.append(prob.status)
total = time.perf_counter() - t_sweep
first, warm = times[0], float(np.median(times[1:]))
status = ",".join(sorted(set(statuses)))
"""


_CLASS_DATA = """
import numpy as np
d, n = {d}, {n}
rng = np.random.default_rng(d + n)
A = rng.standard_normal((n, d)); b = A @ rng.choice(np.linspace(-1.5, 1.5, {levels}), d) + 0.1 * rng.standard_normal(n)
y = np.where(b > 0, 1.0, -1.0)
lam = 0.05 * n
kind, constraint = {kind!r}, {constraint!r}
"""

_CLASS_SOLVE = {
    "cvxpar": ("import numpy, cvxpar", """
loss = {"logistic": cvxpar.losses.Logistic(A, y), "huber": cvxpar.losses.Huber(A, b, M=0.5),
        "ls": cvxpar.losses.LeastSquares(A, b)}[kind]
cons = {"box": cvxpar.constraints.Box(-1, 1), "simplex": cvxpar.constraints.Simplex(1.0), None: None}[constraint]
psi = cvxpar.pars.ridge(cvxpar.grids.uniform({step}, {levels}))

def solve():
    res = cvxpar.solve(loss, psi, lam, cons)
    return res.objective, res.status, res.method
"""),
    "clarabel": ("import numpy, cvxpy as cp", """
slopes, intercepts = {pieces}

def solve():
    x = cp.Variable(d)
    z = A @ x
    loss = {"logistic": cp.sum(cp.logistic(-cp.multiply(y, z))), "huber": 0.5 * cp.sum(cp.huber(z - b, 0.5)),
            "ls": 0.5 * cp.sum_squares(z - b)}[kind]
    penalty = cp.sum(cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts)]), axis=0))
    cons = {"box": [x >= -1, x <= 1], "simplex": [x >= 0, cp.sum(x) == 1], None: []}[constraint]
    prob = cp.Problem(cp.Minimize(loss + lam * penalty), cons)
    prob.solve(solver="CLARABEL")
    return prob.value, prob.status, "clarabel"
"""),
}

_CLASS_TIMING = f"""
t, c = time.perf_counter(), time.process_time()
value, status, method = solve()
first, first_cpu = time.perf_counter() - t, time.process_time() - c
warm = []
for _ in range({WARM_CALLS}):
    c = time.process_time()
    solve()
    warm.append(time.process_time() - c)
warm = float(np.median(warm))
"""


def _class_script(tool: str, label: str, d: int, n: int, pieces: str) -> str:
    """The fresh-process script of one classes instance: imports, data, first call, WARM_CALLS more."""
    kind, constraint = CLASSES[label]
    imports, body = _CLASS_SOLVE[tool]
    data = _CLASS_DATA.format(d=d, n=n, kind=kind, constraint=constraint, levels=LEVELS)
    body = body.replace("{pieces}", pieces).replace("{step}", str(CLASS_STEP)).replace("{levels}", str(LEVELS))
    return textwrap.dedent(f"""
        import time
        t0 = time.perf_counter()
        {imports}
        t_import = time.perf_counter() - t0
        import json, sys
    """) + data + body + _CLASS_TIMING + textwrap.dedent("""
        print(json.dumps({"import": t_import, "first": first, "first_cpu": first_cpu, "warm": warm,
                          "value": float(value), "status": str(status), "method": method,
                          "numba": "numba" in sys.modules}))
    """)


def _script(tool: str, case: str, d: int, pieces: str) -> str:
    imports, body = _SCRIPTS[(tool, case)]
    body = body.replace("{sweep}", _SWEEP).replace("{pieces}", pieces).replace("{d}", str(d))
    return textwrap.dedent(f"""
        import time
        t0 = time.perf_counter()
        {imports}
        t_import = time.perf_counter() - t0
        import json, sys
    """) + body + textwrap.dedent("""
        print(json.dumps({"import": t_import, "first": first, "total": globals().get("total", first),
                          "warm": globals().get("warm"), "value": float(value), "status": str(status),
                          "numba": "numba" in sys.modules}))
    """)


def _environment() -> dict:
    """One BLAS thread; this checkout first on the path; bytecode written and read (as an installed package
    has it: PYTHONDONTWRITEBYTECODE would recompile every module of every fresh process)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return env


def _fresh(code: str, env: dict) -> dict:
    """Run ``code`` in a fresh interpreter; its printed measurements plus the wall time seen from here."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark process failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def _pieces(step: float = 2 / (LEVELS - 1)) -> str:
    """The affine pieces (slopes, intercepts) of the ridge PAR on LEVELS points ``step`` apart, as source text."""
    import cvxpar

    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(step, LEVELS))
    slopes, intercepts = psi.max_affine()
    return repr(([float(a) for a in slopes], [float(c) for c in intercepts]))


def measure(case: str, d: int, repeat: int, env: dict | None = None) -> dict:
    """Medians over ``repeat`` fresh processes per tool (alternating, after one untimed warm-up each)."""
    env = _environment() if env is None else env
    pieces = _pieces()
    scripts = {tool: _script(tool, case, d, pieces) for tool in ("cvxpar", "clarabel")}
    for code in scripts.values():  # untimed: writes bytecode, fills the file cache
        _fresh(code, env)
    runs = {tool: [] for tool in scripts}
    for _ in range(repeat):
        for tool, code in scripts.items():
            runs[tool].append(_fresh(code, env))
    out = {}
    for tool, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("import", "first", "total", "wall")}
        warm = [r["warm"] for r in rs if r["warm"] is not None]
        med["warm"] = statistics.median(warm) if warm else None
        med["numba"] = any(r["numba"] for r in rs)
        med["status"] = ",".join(sorted({r["status"] for r in rs}))
        med["value"] = rs[0]["value"]
        out[tool] = med
    return out


def measure_class(label: str, d: int, n: int, repeat: int, env: dict | None = None,
                  envs: dict | None = None) -> dict:
    """Medians over ``repeat`` fresh processes per tool (alternating, after one untimed warm-up each) of one classes
    instance; ``envs`` (tool -> environment) runs a tool on another checkout (an A/B of two versions)."""
    env = _environment() if env is None else env
    envs = envs or {}
    pieces = _pieces(CLASS_STEP)
    scripts = {tool: _class_script(tool, label, d, n, pieces) for tool in ("cvxpar", "clarabel")}
    runs = {tool: [] for tool in scripts}
    for tool, code in scripts.items():  # untimed: writes bytecode, fills the file cache
        _fresh(code, envs.get(tool, env))
    for _ in range(repeat):
        for tool, code in scripts.items():
            runs[tool].append(_fresh(code, envs.get(tool, env)))
    out = {}
    for tool, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("import", "first", "first_cpu", "warm")}
        med.update(value=rs[0]["value"], numba=any(r["numba"] for r in rs),
                   status=",".join(sorted({r["status"] for r in rs})), method=",".join(sorted({r["method"] for r in rs})))
        out[tool] = med
    return out


def class_instances(size: str):
    """(label, d, n) of the classes table at ``size``: wide (n = d / 3) and tall (n = 3 d) rows."""
    ds, _ = CLASS_SIZES[size]
    return [(label, d, n) for label in CLASSES for d in ds for n in (max(2, d // 3), 3 * d)]


def run_classes(size: str = "small", envs: dict | None = None) -> Table:
    """The classes table (module docstring)."""
    _, repeat = CLASS_SIZES[size]
    env = _environment()
    load0 = os.getloadavg()[0]
    table = Table(
        f"Fresh process, every class at small sizes: cvxpar (auto) vs CVXPY + Clarabel (size={size}, median of "
        f"{repeat} processes each)",
        ["class", "d", "n", "cvxpar method", "cvxpar first call (ms CPU)", "Clarabel first build + solve (ms CPU)",
         "first: Clarabel / cvxpar", "cvxpar warm (ms CPU)", "Clarabel warm (ms CPU)", "warm: Clarabel / cvxpar",
         "numba loaded", "status", "rel. objective diff"],
    )
    for label, d, n in class_instances(size):
        m = measure_class(label, d, n, repeat, env, envs)
        ours, ref = m["cvxpar"], m["clarabel"]
        diff = (ours["value"] - ref["value"]) / max(1.0, abs(ref["value"]))
        table.add(label, d, n, ours["method"], 1e3 * ours["first_cpu"], 1e3 * ref["first_cpu"],
                  ref["first_cpu"] / ours["first_cpu"], 1e3 * ours["warm"], 1e3 * ref["warm"], ref["warm"] / ours["warm"],
                  "yes" if ours["numba"] else "no", f"{ours['status']} / {ref['status']}", diff)
    table.notes += [
        "cvxpar.solve(loss, ridge PAR (7 levels on [-1.5, 1.5]), lam = 0.05 n, constraint) after `import numpy, cvxpar`; "
        "Clarabel: the same model built in plain CVXPY (psi as the max of its affine pieces, CVXPY's huber / logistic "
        "atoms) and solved, after `import numpy, cvxpy`; Huber with M = 0.5.",
        f"first call: the first solve of a fresh process (CVXPY: build + solve); warm: the median of the {WARM_CALLS} "
        "calls after it (CVXPY: a new build each time, as a user's script does). CPU seconds (time.process_time) of "
        "the solving process; one BLAS thread; processes alternate, after one untimed warm-up each.",
        "Gaussian A with n = d / 3 (wide) or 3 d (tall) rows, b = A x0 + noise with x0 on the grid; y = sign(b) for "
        "logistic. rel. objective diff = (cvxpar - Clarabel) / max(1, |Clarabel|): negative where cvxpar's certified "
        "point is below Clarabel's (Clarabel's default tolerances).",
        f"Load average (1 min) {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
    ]
    return table


def run(size: str = "small") -> list[Table]:
    return [_run_cases(size), run_classes(size)]


def _run_cases(size: str) -> Table:
    """The solve / sweep table (module docstring)."""
    ds, repeat = SIZES[size]
    env = _environment()
    load0 = os.getloadavg()[0]
    table = Table(
        f"Fresh process, small problems: cvxpar vs CVXPY + Clarabel (size={size}, median of {repeat} processes each)",
        ["case", "d", "tool", "import (s)", "first solve (s)", "solves (s)", "solves: Clarabel / cvxpar",
         "import + solves (s)", "process wall (s)", "wall: Clarabel / cvxpar", "warm per solve (ms)", "numba loaded",
         "status", "rel. objective diff"],
    )
    for case in ("solve", "sweep"):
        for d in ds:
            m = measure(case, d, repeat, env)
            ref = m["clarabel"]["value"]
            for tool, label in (("cvxpar", "cvxpar"), ("clarabel", "CVXPY + Clarabel")):
                r = m[tool]
                ours = tool == "cvxpar"
                solves = m["clarabel"]["total"] / m["cvxpar"]["total"] if ours else ""
                ratio = m["clarabel"]["wall"] / m["cvxpar"]["wall"] if ours else ""
                warm = "" if r["warm"] is None else 1e3 * r["warm"]
                diff = abs(r["value"] - ref) / max(1.0, abs(ref))
                table.add(case, d, label, r["import"], r["first"], r["total"], solves, r["import"] + r["total"],
                          r["wall"], ratio, warm, "yes" if r["numba"] else "no", r["status"], diff if ours else "")
    table.notes += [
        "solve: cvxpar.solve(LeastSquares(A, b), ridge PAR, lam, Box(-1, 1)) after `import numpy, cvxpar`; Clarabel: "
        "the same model in plain CVXPY (psi as the max of its affine pieces) after `import numpy, cvxpy`. "
        "first solve = build + solve.",
        f"sweep: {N_LAMBDAS} values of a cp.Parameter lam on one cp.Problem, problem.solve(method='cvxpar') after "
        "`import numpy, cvxpy, cvxpar` vs solver='CLARABEL' after `import numpy, cvxpy`; first solve = the first "
        f"of the {N_LAMBDAS} (parse / compile included), warm per solve = median of the other {N_LAMBDAS - 1}.",
        "solves = the first solve (solve) or the whole sweep (sweep): what the two tools do differently once "
        "imported; the process wall adds the imports (CVXPY's in both sweeps) and the interpreter's start and exit.",
        "n = 3d Gaussian rows, 7-level ridge PAR on [-1, 1], lam = 0.05 n (sweep: lam_max down to 1e-3 lam_max). "
        "Processes alternate cvxpar / Clarabel, after one untimed warm-up of each (bytecode written, file cache "
        "warm); one BLAS thread.",
        f"Load average (1 min) {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (a shared machine: "
        "compare rows measured side by side).",
    ]
    return table


if __name__ == "__main__":
    for t in run(sys.argv[1] if len(sys.argv) > 1 else "small"):
        print(t.markdown())
