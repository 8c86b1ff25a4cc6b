"""Run cvxpar's benchmarks, print their tables and write them to benchmarks/RESULTS.md.

    python benchmarks/run.py [--size small|full] [--only PARTS] [names...]

Each name is a module of ``cvxpar.bench`` (default: all).  RESULTS.md keeps one section per
benchmark, replaced on each run, headed by the machine it ran on; ``--only`` (comma-separated parts
of case labels, for benchmarks that take it, e.g. breadth) runs a subset and writes it to a section
of its own.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
from pathlib import Path

from cvxpar.bench import available, run_tables
from cvxpar.bench._table import machine

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by `python benchmarks/run.py`.\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body}{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["small", "full"], default="full")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--only", default=None, help="comma-separated parts of case labels to run (e.g. 'tall,sparse')")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(available())}")
    args = parser.parse_args()
    for name in args.names or available():
        load0 = os.getloadavg()[0]
        tables = run_tables(name, args.size, only=args.only)
        load = f"Load average (1 min) {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        only = "" if args.only is None else f" --only '{args.only}'"
        title = name if args.only is None else f"{name} ({args.only})"
        body = (f"## {title} (size={args.size})\n\nMachine: {machine()}. Run: {stamp}. Command: "
                f"`python benchmarks/run.py --size {args.size}{only} {name}`. {load}.\n\n")
        body += "\n".join(t.markdown() for t in tables)
        print(body)
        if not args.no_write:
            write_section(name if args.only is None else f"{name}-only-{re.sub(r'[^a-z0-9]+', '-', args.only.lower())}", body)


if __name__ == "__main__":
    main()
