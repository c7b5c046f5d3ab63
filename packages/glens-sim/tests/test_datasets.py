"""Galaxy splits, channel selection and rendered labelled sets."""

import numpy as np
import pytest
import torch

from glens_sim.config import LensSimConfig
from glens_sim.datasets import (
    GalaxySplit, as_source_stack, make_labelled_set, n_input_channels, select_channels, split_galaxies,
)


def test_split_disjoint_complete_deterministic():
    ids = [f"g{i}" for i in range(10)]
    s = split_galaxies(ids, n_val=2, n_test=3, seed=1)
    assert (len(s.train), len(s.val), len(s.test)) == (5, 2, 3)
    assert set(s.train) | set(s.val) | set(s.test) == set(ids)
    assert not (set(s.train) & set(s.val) or set(s.train) & set(s.test) or set(s.val) & set(s.test))
    assert split_galaxies(list(reversed(ids)), n_val=2, n_test=3, seed=1) == s  # order-independent
    others = {split_galaxies(ids, n_val=2, n_test=3, seed=k).test for k in range(10)}
    assert len(others) > 1  # the seed matters
    frame = s.to_frame()
    assert frame["galaxy"].is_unique and set(frame["split"]) == {"train", "val", "test"}


def test_split_errors():
    with pytest.raises(ValueError, match="duplicate"):
        split_galaxies(["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="cannot be split"):
        split_galaxies(["a", "b", "c"], n_val=1, n_test=2)
    with pytest.raises(ValueError, match="both the train and test"):
        GalaxySplit(train=("a", "b"), val=("c",), test=("b",))


def test_select_channels():
    x = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)], dim=1)
    assert torch.equal(select_channels(x, "flux"), torch.zeros(3, 1, 8, 8))
    assert torch.equal(select_channels(x, "vel"), torch.ones(3, 1, 8, 8))
    assert select_channels(x, "both") is x
    assert [n_input_channels(m) for m in ("flux", "vel", "both")] == [1, 1, 2]
    with pytest.raises(ValueError, match="channel_mode"):
        select_channels(x, "velocity")


def test_source_stack_validation():
    good = np.zeros((2, 16, 16), np.float32)
    with pytest.raises(ValueError, match="'b'.*shape"):
        as_source_stack({"a": good, "b": np.zeros((16, 16))})
    bad = good.copy()
    bad[1, 3, 3] = np.nan
    with pytest.raises(ValueError, match="'b'.*NaN"):
        as_source_stack({"a": good, "b": bad})
    with pytest.raises(ValueError, match="'b'.*size"):
        as_source_stack({"a": good, "b": np.zeros((2, 8, 8))})
    assert as_source_stack({"a": good})["a"].dtype == torch.float32
