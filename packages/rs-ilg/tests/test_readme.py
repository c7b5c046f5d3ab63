"""The README's examples run as doctests (they state their cost in the README)."""

from __future__ import annotations

import doctest
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run():
    res = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                           raise_on_error=False, verbose=False)
    assert res.attempted >= 15 and res.failed == 0, res
