"""GPU Lasso anchor: cvxpar's Lasso and 7-level ridge PAR at tol 1e-8 on large simulated designs, on a GPU
(CuPy) next to cvxpar on the CPU and skglm.

Designs: A with i.i.d. N(0, 1/n) entries, dense or sparse (CSR on the GPU, CSC on the CPU, entries
N(0, 1/(n density))), w* with n/10 nonzeros drawn from the 7-level grid {-1.5, -1, ..., 1.5}, y = A w* +
0.1 noise.  Problems: the Lasso (psi = |x|) at lam = lam_max / 20, and the 7-level ridge PAR (psi the
distance-like convex PAR with kinks on that grid, :func:`cvxpar.pars.ridge`) at lam = 0.05 n.  Each is
solved by ``cvxpar.solve(loss, psi, lam, tol=1e-8)`` (method auto, which names its pick) with the data on
the GPU, and, where the design fits the CPU budgets (CPU_MAX_BYTES, SKGLM_MAX_BYTES), with the same data on
the host and by skglm (Lasso only, tol 1e-10 on its own criterion).  The table gives each solver's time, status and the
relative duality gap of its answer (Massias, Gramfort and Salmon 2018, eq. 2, for the Lasso; cvxpar's
certificate gap for the PAR), the GPU device's name, and the speed-up of the GPU over both CPU solvers.

Sizes: ``full`` is n = 10^4..10^5, d = 10^5..10^6 where GPU memory allows (a design that does not fit
in the free device memory, with room for the solver's work arrays, gets a "skipped" row); ``small`` is a
CPU-sized form (seconds) for smoke tests.  Without a GPU (no CuPy, or no CUDA device) the GPU columns say
"no GPU: skipped" and the small CPU form runs, whatever the size asked for.

    python benchmarks/run.py --size full gpu_lasso
"""

from __future__ import annotations

import math
import time

import numpy as np

import cvxpar
from cvxpar._backend import cupy_with_gpu
from cvxpar.bench._table import Table, gpu_name
from cvxpar.bench.lasso import relative_gap
from cvxpar.losses import LeastSquares

#: (n, d, storage, density): the designs of each size.
SIZES = {
    "small": [(100, 1000, "dense", 1.0), (200, 2000, "sparse", 0.01)],
    "full": [
        (10_000, 100_000, "dense", 1.0),
        (20_000, 200_000, "dense", 1.0),
        (10_000, 1_000_000, "sparse", 1e-3),
        (100_000, 1_000_000, "sparse", 1e-4),
    ],
}
#: Designs above this many bytes of A are not solved by cvxpar on the CPU, and above SKGLM_MAX_BYTES not by
#: skglm (its epochs over 10^4 x 10^5 dense data take minutes); the GPU rows still run.
CPU_MAX_BYTES = 9 << 30
SKGLM_MAX_BYTES = 1 << 30
#: A design runs on the GPU only when its A takes at most this fraction of the free device memory.
GPU_MEMORY_FRACTION = 0.3
TOL = 1e-8
GRID = cvxpar.grids.uniform(0.5, 7)
SKIPPED = "no GPU: skipped"


def design(xp, sparse_mod, n: int, d: int, storage: str, density: float, seed: int = 0):
    """(A, y) in the namespace ``xp`` (NumPy or CuPy); ``sparse_mod`` is scipy.sparse or cupyx.scipy.sparse."""
    rs = np.random.default_rng(seed)
    k = max(1, n // 10)
    w = np.zeros(d)
    w[rs.choice(d, k, replace=False)] = rs.choice(GRID[GRID != 0], k)
    gen = xp.random.default_rng(seed) if hasattr(xp.random, "default_rng") else xp.random.RandomState(seed)
    if storage == "dense":
        A = gen.standard_normal((n, d), dtype=np.float64) / math.sqrt(n)
    else:
        nnz = int(round(n * d * density))
        rows = xp.asarray(rs.integers(0, n, nnz))
        cols = xp.asarray(rs.integers(0, d, nnz))
        vals = gen.standard_normal(nnz, dtype=np.float64) / math.sqrt(n * density)
        A = sparse_mod.coo_matrix((vals, (rows, cols)), shape=(n, d)).tocsr()
    y = A @ xp.asarray(w) + 0.1 * gen.standard_normal(n, dtype=np.float64)
    return A, y


def _problems(A, y, xp):
    lam_max = float(xp.max(xp.abs(A.T @ y)))
    n = A.shape[0]
    return [("Lasso", cvxpar.pars.l1(), lam_max / 20), ("ridge PAR, 7 levels", cvxpar.pars.ridge(GRID), 0.05 * n)]


def _solve(A, y, psi, lam, sync=lambda: None):
    """(seconds, result or error text) of cvxpar.solve at TOL."""
    try:
        t0 = time.perf_counter()
        res = cvxpar.solve(LeastSquares(A, y), psi, lam, tol=TOL)
        sync()
        return time.perf_counter() - t0, res
    except Exception as exc:  # a benchmark reports what failed (e.g. a data type a method does not take)
        return math.nan, f"failed: {type(exc).__name__}: {str(exc)[:80]}"


def _gap(A, y, psi_name, res, lam) -> float:
    x = np.asarray(_host(res.x))
    if psi_name == "Lasso":
        return relative_gap(_host(A), _host(y), x, lam)
    return (res.gap if res.gap is not None else math.nan) / max(1.0, abs(res.objective))


def _host(a):
    """A NumPy / scipy.sparse copy of a CuPy array or cupyx sparse matrix (itself when already on the host)."""
    if hasattr(a, "get"):
        return a.get()
    return a


def _skglm(A, y, lam):
    try:
        from skglm import Lasso
    except ImportError:
        return math.nan, "skglm not installed"
    t0 = time.perf_counter()
    w = Lasso(alpha=lam / A.shape[0], fit_intercept=False, tol=1e-10).fit(A, y).coef_
    return time.perf_counter() - t0, w


def _cell(t, res) -> str:
    return res if isinstance(res, str) else f"{t:.3g} s ({res.method}, {res.status})"


def run(size: str = "small") -> Table:
    cupy = cupy_with_gpu()
    device = gpu_name() if cupy is not None else None
    sizes = SIZES[size] if cupy is not None else SIZES["small"]
    table = Table(
        f"GPU Lasso anchor: cvxpar on {device or 'no GPU'} vs cvxpar on the CPU and skglm, tol {TOL:g} "
        f"(size={size if cupy is not None else 'small, CPU form'})",
        ["problem", "n x d", "A", "GPU device", "cvxpar GPU", "GPU gap", "cvxpar CPU", "CPU gap", "skglm CPU",
         "skglm gap", "GPU speed-up vs cvxpar CPU", "vs skglm"],
    )
    _warm_up(cupy)
    for n, d, storage, density in sizes:
        label = f"{n} x {d}"
        store = storage if storage == "dense" else f"sparse {density:g}"
        bytes_A = n * d * 8 if storage == "dense" else int(n * d * density) * 12
        gpu_data = cpu_data = None
        gpu_note = SKIPPED
        if cupy is not None:
            free = cupy.cuda.runtime.memGetInfo()[0]
            if bytes_A <= GPU_MEMORY_FRACTION * free:
                import cupyx.scipy.sparse as cusp

                gpu_data = design(cupy, cusp, n, d, storage, density)
            else:
                gpu_note = f"skipped: A needs {bytes_A / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free"
        if bytes_A <= CPU_MAX_BYTES:
            if gpu_data is not None:
                cpu_data = (_host(gpu_data[0]), _host(gpu_data[1]))
            else:
                import scipy.sparse as sp

                cpu_data = design(np, sp, n, d, storage, density)
            if storage != "dense":
                cpu_data = (cpu_data[0].tocsc(), cpu_data[1])
        ref = gpu_data if gpu_data is not None else cpu_data
        if ref is None:
            table.add("-", label, store, device or "-", gpu_note, "", "not run (size)", "", "not run (size)", "", "", "")
            continue
        for name, psi, lam in _problems(*ref, cupy if gpu_data is not None else np):
            if gpu_data is not None:
                tg, rg = _solve(*gpu_data, psi, lam, sync=cupy.cuda.Device().synchronize)
                gpu_cells = [_cell(tg, rg), "" if isinstance(rg, str) else f"{_gap(*gpu_data, name, rg, lam):.1e}"]
            else:
                tg, rg = math.nan, gpu_note
                gpu_cells = [gpu_note, ""]
            tc = ts = math.nan
            cpu_cells = ["not run (size)", "", "not run (size)" if name == "Lasso" else "-", ""]
            if cpu_data is not None:
                tc, rc = _solve(*cpu_data, psi, lam)
                cpu_cells[:2] = [_cell(tc, rc), "" if isinstance(rc, str) else f"{_gap(*cpu_data, name, rc, lam):.1e}"]
                if name == "Lasso" and bytes_A > SKGLM_MAX_BYTES:
                    cpu_cells[2] = "not run (size)"
                elif name == "Lasso":
                    ts, w = _skglm(*cpu_data, lam)
                    cpu_cells[2:] = [w, ""] if isinstance(w, str) else [
                        f"{ts:.3g} s", f"{relative_gap(cpu_data[0], cpu_data[1], w, lam):.1e}"]
            table.add(name, label, store, device or "-", *gpu_cells, *cpu_cells, _ratio(tc, tg), _ratio(ts, tg))
    table.notes += [
        "The data are made on the device (no host-device copy is timed); the CPU solvers use the BLAS threads "
        "the process allows. Gap: relative duality gap of the answer (Lasso: rescaled residual as dual point; PAR: "
        "cvxpar's certificate gap over max(1, |objective|)).",
        "Speed-up = CPU time / GPU time (empty when either did not run).",
    ]
    if cupy is None:
        table.notes.append("No GPU here (CuPy missing or no CUDA device): the small CPU form ran; GPU columns skipped.")
    return table


def _ratio(cpu_time: float, gpu_time: float):
    return cpu_time / gpu_time if math.isfinite(cpu_time) and math.isfinite(gpu_time) and gpu_time > 0 else ""


def _warm_up(cupy) -> None:
    """Compile numba kernels and CuPy kernels outside the timings."""
    import scipy.sparse as sp

    for storage in ("dense", "sparse"):
        A, y = design(np, sp, 20, 60, storage, 0.3)
        if storage == "sparse":
            A = A.tocsc()
        for name, psi, lam in _problems(A, y, np):
            cvxpar.solve(LeastSquares(A, y), psi, lam, tol=TOL)
            if name == "Lasso":
                _skglm(A, y, lam)
    if cupy is not None:
        import cupyx.scipy.sparse as cusp

        Ag, yg = design(cupy, cusp, 20, 60, "dense", 1.0)
        for _, psi, lam in _problems(Ag, yg, cupy):
            _solve(Ag, yg, psi, lam)


if __name__ == "__main__":
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "small").markdown())
