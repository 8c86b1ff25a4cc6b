"""Fuzzing-suite settings: a small derandomized CI form and a long form with fresh seeds.

``CVXPAR_FUZZ`` selects the form:

- unset or ``ci`` (the default): each fuzz test runs its own small ``max_examples`` once under
  the ``fuzz-ci`` profile (``derandomize=True``: the same examples on every run, about a minute
  for the whole directory).
- ``long``: each fuzz test runs under the ``fuzz-long`` profile (fresh random seeds, no example
  database) in rounds until its share of ``CVXPAR_FUZZ_MINUTES`` (default 30) is spent.  A round
  that fails is recorded (hypothesis's shrunk falsifying example and the error) and the search goes
  on; the test fails at the end listing every distinct failure.  With ``CVXPAR_FUZZ_LOG=path`` each
  failure is also appended to that file as it is found, e.g.::

      CVXPAR_FUZZ=long CVXPAR_FUZZ_MINUTES=30 CVXPAR_FUZZ_LOG=/tmp/fuzz.log \\
          nice -n 10 python -m pytest tests/fuzz -q -p no:cacheprovider

The profiles extend the shared ``ci`` and ``explore`` profiles of ``tests/conftest.py`` (their
health-check and deadline choices, no example database, the reproduce blob printed); a fuzz test
never reads the loaded global profile, so ``CI`` / ``HYPOTHESIS_PROFILE`` do not change its size.
"""

from __future__ import annotations

import os
import time
import traceback

import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis.errors import Unsatisfiable

MODE = os.environ.get("CVXPAR_FUZZ", "ci")
if MODE not in ("ci", "long"):
    raise ValueError(f"CVXPAR_FUZZ must be 'ci' or 'long'; got {MODE!r}.")
MINUTES = float(os.environ.get("CVXPAR_FUZZ_MINUTES", "30"))
LOG = os.environ.get("CVXPAR_FUZZ_LOG")

_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("fuzz-ci", parent=settings.get_profile("ci"), derandomize=True, **_COMMON)
#: One round of the long form; rounds repeat until the test's time share is spent.
LONG_ROUND = 10
settings.register_profile("fuzz-long", parent=settings.get_profile("explore"), derandomize=False, **_COMMON)
#: explain / target phases cost time without finding more here
_PHASES = (Phase.explicit, Phase.generate, Phase.shrink)


class FuzzRunner:
    """Runs ``body`` under ``@given(**strategies)`` in the selected form (module docstring)."""

    def __init__(self, nodeid: str, share_s: float) -> None:
        self.nodeid = nodeid
        self.share_s = share_s

    def run(self, body, examples: int, **strategies) -> None:
        if MODE == "ci":
            test = settings(settings.get_profile("fuzz-ci"), max_examples=examples, phases=_PHASES)(
                given(**strategies)(body)
            )
            test()
            return
        failures: dict[str, str] = {}
        stop = time.monotonic() + self.share_s

        failing = []

        def timed(**kwargs):  # past the time share, skip the round's other examples (not a failure's replays)
            if time.monotonic() > stop and not failing:
                reject()
            try:
                body(**kwargs)
            except Exception:
                failing.append(True)
                raise

        rounds = 0
        while time.monotonic() < stop:
            rounds += 1
            failing.clear()
            test = settings(settings.get_profile("fuzz-long"), max_examples=LONG_ROUND, phases=_PHASES)(
                given(**strategies)(timed)
            )
            try:
                test()
            except Unsatisfiable:  # every example of the last round came after the stop
                break
            except Exception as exc:  # record and keep searching: the long form lists every class
                text = "".join(traceback.format_exception(exc))
                key = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
                if key not in failures:
                    failures[key] = text
                    if LOG:
                        with open(LOG, "a") as fh:
                            fh.write(f"==== {self.nodeid} round {rounds}: {key}\n{text}\n")
        if LOG:
            with open(LOG, "a") as fh:
                fh.write(f"---- {self.nodeid}: {rounds} rounds of {LONG_ROUND}, {len(failures)} distinct failures\n")
        if failures:
            pytest.fail(f"{len(failures)} distinct failures in {rounds} rounds:\n\n" + "\n\n".join(failures.values()))


def pytest_collection_modifyitems(config, items) -> None:
    config._fuzz_count = max(1, sum("fuzz" in getattr(item, "fixturenames", ()) for item in items))


@pytest.fixture
def fuzz(request) -> FuzzRunner:
    """The runner of this test: ``fuzz.run(body, examples=N, case=strategy, ...)``."""
    count = getattr(request.config, "_fuzz_count", 1)
    return FuzzRunner(request.node.nodeid, MINUTES * 60.0 / count)
