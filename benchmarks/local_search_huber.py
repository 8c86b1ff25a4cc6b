"""The local search of a nonconvex psi on a non-quadratic loss: Huber + mcp / sawtooth on scaled data.

    python benchmarks/local_search_huber.py run OUT.json [--reference-d D] [--only K,K,...] [--loss huber|ls|logistic]
    python benchmarks/local_search_huber.py compare A.json B.json [C.json ...]

``run`` solves 40 problems with ``cvxpar.solve`` (default options) in the checkout on ``PYTHONPATH`` and
writes, per problem, the objective, status, CPU seconds (``time.process_time``) and the local search's work
(calls of the numba kernel ``_descend``, those with kick-and-repair moves, and kick-and-repair scans
where the kernel reports them, counted by wrapping it); with
``--reference-d D`` also ``cvxpar.reference`` (SCIP on the exact mixed-integer model, 120 s) for the
problems with d <= D.  ``compare`` prints the runs side by side (objectives relative to the first run's,
and to the reference where there is one).  Run with one BLAS thread (``OPENBLAS_NUM_THREADS=1``).

Problems k = 0..39: minimize sum_i H_M(a_i^T x - b_i) + lam sum_j psi(x_j), optionally in Box(-1, 1),
d = 10 + round(30 k / 39), n in {d/4, d, 2d}, Gaussian A with (half the time) columns scaled over
10^[-4, 4] and an overall scale 10^[-3, 3], b = A x_true + noise, M in {0.01, 1, 100}, lam = 10^[-2, 1],
psi alternating mcp(uniform(0.5, 9), gamma=1) and sawtooth(uniform(0.25, 9)).  ``--loss ls`` / ``logistic``
runs the same data with least squares / logistic (labels sign(b)) to check those paths.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

N_PROBLEMS = 40
REFERENCE_SECONDS = 120.0


def problem(k: int, loss: str = "huber"):
    from cvxpar import grids, pars
    from cvxpar.constraints import Box
    from cvxpar.losses import Huber, LeastSquares, Logistic

    rng = np.random.default_rng([k, 18])
    d = 10 + round(30 * k / (N_PROBLEMS - 1))
    n = int(rng.choice([max(d // 4, 2), d, 2 * d]))
    A = rng.standard_normal((n, d))
    if rng.random() < 0.5:
        A *= 10.0 ** rng.uniform(-4, 4, size=d)
    A *= 10.0 ** rng.uniform(-3, 3)
    x_true = rng.uniform(-1.5, 1.5, d)
    z = A @ x_true
    b = z + rng.standard_normal(n) * np.abs(z).max() * rng.choice([0.0, 0.1, 1.0])
    M = float(rng.choice([0.01, 1.0, 100.0]))
    lam = float(10.0 ** rng.uniform(-2, 1))
    psi = pars.mcp(grids.uniform(0.5, 9), gamma=1.0) if k % 2 == 0 else pars.sawtooth(grids.uniform(0.25, 9))
    box = Box(-1.0, 1.0) if rng.random() < 0.5 else None
    f = {"huber": lambda: Huber(A, b, M=M), "ls": lambda: LeastSquares(A, b),
         "logistic": lambda: Logistic(A, np.where(b >= 0, 1.0, -1.0))}[loss]()
    return {"d": d, "n": n, "M": M, "lam": lam, "psi": "mcp" if k % 2 == 0 else "sawtooth", "box": box is not None,
            "loss": f, "par": psi, "constraints": box}


class Counter:
    """Wraps cvxpar.solvers.local_search._descend: calls, calls with kicks, and kick-and-repair scans where the
    kernel reports them."""

    def __init__(self) -> None:
        from cvxpar.solvers import local_search

        self.module, self.kernel = local_search, local_search._descend
        self.calls = self.kick_calls = self.scans = 0

        def counted(*args):
            self.calls += 1
            self.kick_calls += bool(args[10])
            out = self.kernel(*args)
            if isinstance(out, tuple):
                self.scans += out[1]
            return out

        local_search._descend = counted


def run(out: str, reference_d: int, only: list[int] | None, loss: str) -> None:
    import cvxpar

    counter = Counter()
    p = problem(0, loss)  # compile (numba) before timing
    cvxpar.solve(p["loss"], p["par"], p["lam"], p["constraints"])
    rows = []
    total = 0.0
    for k in only if only is not None else range(N_PROBLEMS):
        p = problem(k, loss)
        counter.calls = counter.kick_calls = counter.scans = 0
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = cvxpar.solve(p["loss"], p["par"], p["lam"], p["constraints"])
        cpu = time.process_time() - t0
        total += cpu
        row = {"k": k, **{key: p[key] for key in ("d", "n", "M", "lam", "psi", "box")}, "objective": res.objective,
               "status": res.status, "cpu": cpu, "descend_calls": counter.calls, "kick_calls": counter.kick_calls, "scans": counter.scans}
        if p["d"] <= reference_d:
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = cvxpar.reference(p["loss"], p["par"], p["lam"], p["constraints"], time_limit=REFERENCE_SECONDS)
            row.update(reference=ref.objective, reference_status=ref.status, reference_cpu=time.process_time() - t0)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    meta = {"load_start": os.getloadavg()[0], "total_cpu": total, "python_path": os.environ.get("PYTHONPATH", "")}
    with open(out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print(f"total CPU {total:.1f} s", file=sys.stderr)


def compare(paths: list[str]) -> None:
    runs = [json.load(open(p)) for p in paths]
    names = [os.path.basename(p).removesuffix(".json") for p in paths]
    by_k = [{r["k"]: r for r in run["rows"]} for run in runs]
    ref = {}
    for rows in by_k:
        for k, r in rows.items():
            if r.get("reference_status") == "optimal":
                ref[k] = r["reference"]
    head = ["k", "d", "n", "M", "psi", "box"] + [f"{n} {c}" for n in names for c in ("F", "status", "CPU s", "calls")]
    head += ["F* (reference)"] if ref else []
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for k in sorted(by_k[0]):
        r0 = by_k[0][k]
        cells = [k, r0["d"], r0["n"], r0["M"], r0["psi"], "yes" if r0["box"] else "no"]
        for rows in by_k:
            r = rows.get(k)
            if r is None:
                cells += ["", "", "", ""]
                continue
            cells += [f"{r['objective']:.9g}", r["status"], f"{r['cpu']:.2f}", f"{r['descend_calls']}/{r['kick_calls']}"]
        if ref:
            cells.append(f"{ref[k]:.9g}" if k in ref else "")
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print()
    base = by_k[0]
    for name, rows in zip(names, by_k, strict=True):
        common = [k for k in rows if k in base]
        rel = [(rows[k]["objective"] - base[k]["objective"]) / max(abs(base[k]["objective"]), 1e-300) for k in common]
        worse = sum(x > 1e-9 for x in rel)
        better = sum(x < -1e-9 for x in rel)
        statuses = {}
        for k in common:
            statuses[rows[k]["status"]] = statuses.get(rows[k]["status"], 0) + 1
        cpu = sum(rows[k]["cpu"] for k in common)
        line = (f"{name}: total CPU {cpu:.1f} s, statuses {statuses}, vs {names[0]}: {better} lower, {worse} higher "
                f"(rel > 1e-9), max higher {100 * max(rel, default=0):.3g} %")
        ex = [(rows[k]["objective"] - ref[k]) / max(abs(ref[k]), 1e-300) for k in rows if k in ref]
        if ex:
            line += (f"; vs reference ({len(ex)} problems): median excess {100 * float(np.median(ex)):.3g} %, "
                     f"max {100 * max(ex):.3g} %")
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("--reference-d", type=int, default=0)
    r.add_argument("--only", default=None)
    r.add_argument("--loss", default="huber", choices=["huber", "ls", "logistic"])
    c = sub.add_parser("compare")
    c.add_argument("paths", nargs="+")
    args = parser.parse_args()
    if args.cmd == "run":
        run(args.out, args.reference_d, None if args.only is None else [int(k) for k in args.only.split(",")],
            args.loss)
    else:
        compare(args.paths)


if __name__ == "__main__":
    main()
