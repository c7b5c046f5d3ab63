"""Reading a release folder: the mock layout, the real SPARC layout, and clear errors."""

from pathlib import Path

import pytest

from rs_ilg.mock import write_mock_sparc
from rs_ilg.release import find_release_files, read_sparc_release


def test_mock_release_roundtrip(tmp_path: Path) -> None:
    write_mock_sparc(tmp_path, n_galaxies=5, seed=3)
    rel = read_sparc_release(tmp_path)
    assert len(rel.rotmods) == 5
    assert sorted(rel.table.index) == sorted(rel.rotmods)


def test_real_sparc_release(sparc_dir: Path) -> None:
    rel = read_sparc_release(sparc_dir)
    assert len(rel.rotmods) == 175 and len(rel.table) == 175
    assert sum(len(r.r_kpc) for r in rel.rotmods.values()) == 3391


def test_missing_parts_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder"):
        find_release_files(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="Rotmod_LTG"):
        find_release_files(tmp_path)
    (tmp_path / "Rotmod_LTG").mkdir()
    with pytest.raises(FileNotFoundError, match="exactly one .mrt"):
        find_release_files(tmp_path)
