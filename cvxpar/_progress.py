"""Progress for long work (``cvxpar bench``, ``lambda_path(..., progress=True)``): a tqdm bar when tqdm is
installed (``pip install "cvxpar[progress]"``), plain lines otherwise.  Progress goes to stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def over(items: Iterable[T], desc: str, unit: str = "benchmark") -> Iterator[T]:
    """Iterate over ``items`` with a progress bar (tqdm) or, without tqdm, one line per item."""
    tqdm = _tqdm()
    items = list(items)
    if tqdm is not None:
        yield from tqdm(items, desc=desc, unit=unit, file=sys.stderr, leave=False)
        return
    for i, item in enumerate(items, 1):
        print(f"{desc}: {i}/{len(items)} {item} ...", file=sys.stderr, flush=True)
        yield item


def note(message: str) -> None:
    """One progress line on stderr (through tqdm.write when a bar may be on screen)."""
    tqdm = _tqdm()
    if tqdm is not None:
        tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr, flush=True)
