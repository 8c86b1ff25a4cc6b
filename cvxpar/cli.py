"""The ``cvxpar`` command line: ``cvxpar demo`` and ``cvxpar bench``."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def demo(args: argparse.Namespace) -> int:
    """Build a PAR and show its exact prox."""
    import cvxpar

    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    print(f"psi = {psi}  ({psi.curvature})")
    v = np.linspace(-2.0, 2.0, 9)
    print(f"{'v':>8} {'prox_0.5psi(v)':>16}")
    for vi, xi in zip(v, psi.prox(v, 0.5)):
        print(f"{vi:8.3f} {xi:16.4f}")
    return 0


def bench(args: argparse.Namespace) -> int:
    """Run the benchmarks at small size and print their tables."""
    import importlib
    import pkgutil

    import cvxpar.bench

    names = args.names or sorted(m.name for m in pkgutil.iter_modules(cvxpar.bench.__path__) if not m.name.startswith("_"))
    for name in names:
        tables = importlib.import_module(f"cvxpar.bench.{name}").run(args.size)
        for table in tables if isinstance(tables, list) else [tables]:
            print(table.markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cvxpar", description="Piecewise-affine regularization for quantized solutions.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="the main job: an embedded quantized-regression example", description=demo.__doc__)
    p_demo.set_defaults(func=demo)
    p_bench = sub.add_parser("bench", help="run the benchmarks at small size and print their tables", description=bench.__doc__)
    p_bench.add_argument("names", nargs="*", help="benchmark modules of cvxpar.bench (default: all)")
    p_bench.add_argument("--size", choices=["small", "full"], default="small")
    p_bench.set_defaults(func=bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
