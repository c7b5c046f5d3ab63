"""The README's examples run as written (doctest), in order, in a scratch folder."""

from __future__ import annotations

import doctest
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = doctest.testfile(str(README), module_relative=False, verbose=False,
                                  optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:
        torch.set_num_threads(threads)
    assert result.attempted >= 20, "the README lost its examples"
    assert result.failed == 0, f"{result.failed} README example(s) failed (output above)"
