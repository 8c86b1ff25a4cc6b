"""Progress for long work (``cvxpar bench``, ``lambda_path(..., progress=True)``,
``solve_batch(..., progress=True)``, ``PARRegressorCV(verbose=True)``): a tqdm bar when tqdm is installed
(``pip install "cvxpar[progress]"``), plain lines otherwise.  Progress goes to stderr."""

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


class Counter:
    """A count of finished units out of ``total`` (a tqdm bar, or one line per update without tqdm).

    Used as a context manager; ``update(k)`` adds k finished units.
    """

    def __init__(self, total: int, desc: str, unit: str) -> None:
        self.total, self.desc, self.unit, self.done = int(total), desc, unit, 0
        tqdm = _tqdm()
        self._bar = None if tqdm is None else tqdm(total=self.total, desc=desc, unit=unit, file=sys.stderr,
                                                   leave=False)

    def update(self, k: int = 1) -> None:
        if k <= 0:
            return
        self.done += int(k)
        if self._bar is not None:
            self._bar.update(int(k))
        else:
            print(f"{self.desc}: {self.done}/{self.total} {self.unit}s done", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Silent:
    """The :class:`Counter` interface doing nothing (progress off)."""

    def update(self, k: int = 1) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc) -> None:
        return None


def counter(total: int, desc: str, unit: str, enabled: bool = True) -> Counter | _Silent:
    """A :class:`Counter` when ``enabled``, else one that shows nothing."""
    return Counter(total, desc, unit) if enabled else _Silent()


def note(message: str) -> None:
    """One progress line on stderr (through tqdm.write when a bar may be on screen)."""
    tqdm = _tqdm()
    if tqdm is not None:
        tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr, flush=True)
