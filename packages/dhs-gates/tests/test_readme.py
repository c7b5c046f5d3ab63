"""The README's example runs as a doctest, and the leakage lists' docstring examples too."""

from __future__ import annotations

import doctest
from pathlib import Path

import dhs_inject.columns

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs() -> None:
    res = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS, raise_on_error=False,
                           verbose=False)
    assert res.attempted >= 6 and res.failed == 0, res
    res = doctest.testmod(dhs_inject.columns)
    assert res.attempted >= 1 and res.failed == 0, res
