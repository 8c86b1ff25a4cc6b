"""The ``cvxpar`` command line: ``cvxpar demo`` and ``cvxpar bench``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from cvxpar import demo as _demo

_GRID = _demo.grid()
DEMO_HELP = f"""\
The main job: a constrained quantized regression, solved exactly by CVXPY and fast by cvxpar.

On the diabetes data shipped with cvxpar (Efron et al. 2004, 442 x 10, standardized) it solves

    minimize 1/(2n)||y - Xw||^2 + alpha * sum_i psi(w_i)
    subject to |w_i| <= {_demo.BOUND:g}, w_i >= 0 for {", ".join(_demo.NONNEGATIVE)}

where psi interpolates x^2/2 on the grid Q = {{{", ".join(f"{q:g}" for q in _GRID)}}}, for alpha in
{{{", ".join(f"{a:g}" for a in _demo.ALPHAS)}}}. It prints a table comparing the CVXPY reference with cvxpar
(objective, largest coefficient difference, time, fraction of coefficients on Q, status) and the
coefficients, and saves a plot of them on the grid (needs matplotlib: pip install "cvxpar[plot]").
Needs only the core package otherwise.
"""

BENCH_HELP = """\
Run the benchmark modules of cvxpar.bench (all, or those named) and print their tables: at small
size by default (a few minutes for all of them), or at the sizes of benchmarks/RESULTS.md with
--size full (hours; the dask benchmark writes an 8 GB zarr store). `python benchmarks/run.py` runs them
too and writes benchmarks/RESULTS.md. Timings depend on the machine and its load: compare rows
of one table, measured side by side.
"""

EPILOG = """\
examples:
  cvxpar demo                          # the three default alphas, plot to out/cvxpar-demo.png
  cvxpar demo --alpha 0.5 --no-plot    # one alpha, tables only
  cvxpar bench lasso breadth           # two benchmarks at small size
"""


def demo(args: argparse.Namespace) -> int:
    _demo.run(None if args.no_plot else Path(args.out), alphas=args.alpha)
    return 0


def bench(args: argparse.Namespace) -> int:
    from cvxpar import _progress as progress
    from cvxpar.bench import available as bench_modules
    from cvxpar.bench import run_tables
    from cvxpar.bench._table import machine

    available = bench_modules()
    if not available:
        print("cvxpar bench: no benchmark modules are installed in cvxpar.bench.", file=sys.stderr)
        return 1
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        print(
            f"cvxpar bench: unknown benchmark {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr
        )
        return 2
    print(f"machine: {machine()}", flush=True)
    for name in progress.over(args.names or available, f"cvxpar bench ({args.size})"):
        for table in run_tables(name, args.size):
            print(table.markdown(), flush=True)
    return 0


def _bench_names() -> list[str]:
    from cvxpar.bench import available

    return available()


def _alpha(text: str) -> float:
    """An --alpha value: a finite number >= 0 (argparse turns the ValueError into a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0 (a regularization strength)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cvxpar",
        description="Piecewise-affine regularization (PAR) for quantized solutions: exact references and fast solvers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,bench}")
    p_demo = sub.add_parser(
        "demo",
        help="the main job: a constrained quantized regression, CVXPY vs cvxpar",
        description=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_demo.add_argument(
        "--out", default="out/cvxpar-demo.png", help="where to save the plot (PNG; default: %(default)s)"
    )
    p_demo.add_argument("--no-plot", action="store_true", help="skip the plot")
    p_demo.add_argument(
        "--alpha",
        type=_alpha,
        action="append",
        metavar="ALPHA",
        help=f"a regularization strength to solve for (repeat for several; default: {', '.join(f'{a:g}' for a in _demo.ALPHAS)})",
    )
    p_demo.set_defaults(func=demo)
    p_bench = sub.add_parser(
        "bench",
        help="run the benchmarks at small size and print their tables",
        description=BENCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_bench.add_argument(
        "names", nargs="*", metavar="NAME",
        help=f"benchmark modules of cvxpar.bench (default: all): {', '.join(_bench_names())}",
    )
    p_bench.add_argument(
        "--size", choices=["small", "full"], default="small", help="problem sizes (default: %(default)s)"
    )
    p_bench.set_defaults(func=bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
