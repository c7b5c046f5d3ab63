"""The README's example runs as a doctest."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs() -> None:
    res = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS, raise_on_error=False,
                           verbose=False)
    assert res.attempted >= 8 and res.failed == 0, res
