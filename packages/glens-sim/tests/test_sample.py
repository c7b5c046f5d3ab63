"""Reading a sample folder: the synthetic layout, and clear errors."""

from pathlib import Path

import pytest

from glens_sim.sample import expand_maps_paths, read_sample_folder
from glens_sim.synthetic import make_synthetic_sample


def test_synthetic_sample_folder(tmp_path: Path) -> None:
    written = make_synthetic_sample(tmp_path, n=3, seed=1, progress=False)
    sample = read_sample_folder(tmp_path)
    assert sample.maps == sorted(written)
    assert sample.dapall is not None and sample.dapall.name.startswith("dapall")
    assert sample.drpall is not None and sample.drpall.name.startswith("drpall")
    assert expand_maps_paths([tmp_path, written[0]]) == [*sorted(written), written[0]]


def test_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_sample_folder(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="no manga-"):
        read_sample_folder(tmp_path)
