"""cvxpar._progress: the tqdm bar and the plain-line form of the counters behind ``progress=`` / ``verbose=``."""

from __future__ import annotations

import pytest

import cvxpar._progress as progress


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_counter_counts_to_total(capsys, monkeypatch, with_tqdm):
    if with_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setattr(progress, "_tqdm", lambda: None)
    with progress.counter(5, "work", "item") as bar:
        bar.update(2)
        bar.update(0)
        bar.update(3)
    assert bar.done == 5
    err = capsys.readouterr().err
    if with_tqdm:  # tqdm redraws at most every 0.1 s: read its count, and that it drew on stderr
        assert bar._bar.n == 5 and "work:" in err and "/5" in err
    else:
        assert err.splitlines() == ["work: 2/5 items done", "work: 5/5 items done"]


def test_disabled_counter_is_silent(capsys):
    with progress.counter(3, "work", "item", enabled=False) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""
