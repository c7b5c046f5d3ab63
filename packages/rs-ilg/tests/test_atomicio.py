"""Atomic writers: nothing partial under the real name, and the permissions of a plain write."""

from __future__ import annotations

import os
import stat

import pytest

from rs_ilg.atomicio import write_json, write_text


def test_written_files_respect_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_text(tmp_path / "a.csv", "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0666 & ~0027, not mkstemp's 0600
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(write_text(tmp_path / "b.txt", "y").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_failed_write_leaves_the_old_file(tmp_path):
    path = write_json(tmp_path / "r.json", {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert path.read_text() == '{\n  "a": 1\n}' and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
