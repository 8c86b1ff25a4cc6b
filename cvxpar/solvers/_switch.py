"""An on/off switch for one improvement step of a solve, turned off for the duration of a ``with`` block."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator


class Switch:
    """On unless inside ``with switch.suspended():`` (per thread and task: a :class:`contextvars.ContextVar`)."""

    def __init__(self, name: str) -> None:
        self._on = contextvars.ContextVar(name, default=True)

    @property
    def on(self) -> bool:
        return self._on.get()

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        token = self._on.set(False)
        try:
            yield
        finally:
            self._on.reset(token)
