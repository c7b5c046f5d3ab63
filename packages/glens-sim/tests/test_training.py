"""Training loop: learns a separable task, is reproducible, AUC agrees with scipy."""

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu

from glens_sim.models import build_cnn
from glens_sim.training import (
    TrainConfig, evaluate, fit, load_checkpoint, make_checkpoint, model_from_checkpoint,
    predict_scores, roc_auc, save_checkpoint,
)


def _separable(n: int, seed: int, size: int = 16):
    """Class 1 = a bright off-centre blob (random position), class 0 = faint noise only."""
    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(n, 2, size, size, generator=g)
    y = torch.arange(n) % 2
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    for i in range(n):
        if y[i] == 1:
            cy, cx = torch.randint(3, size - 3, (2,), generator=g)
            x[i, 0] += torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 4.0)
    return x, y


def test_learns_separable_task():
    train, val, test = _separable(256, 0), _separable(64, 1), _separable(128, 2)
    model = build_cnn(2, seed=0)
    res = fit(model, train, val, TrainConfig(epochs=8, batch_size=32, lr=3e-3, seed=0, patience=None),
              progress=False)
    m = evaluate(model, *test)
    assert m["accuracy"] > 0.9 and m["auc"] > 0.95
    assert list(res.history["epoch"]) == list(range(1, 9))
    # the returned weights are the best validation epoch's, and the model holds them
    best = res.history.loc[res.history["epoch"] == res.best_epoch, "val_accuracy"].item()
    assert best == res.history["val_accuracy"].max()
    assert evaluate(model, *val)["accuracy"] == pytest.approx(best)
    for k, v in model.state_dict().items():
        assert torch.equal(v, res.state_dict[k])


def test_same_seed_identical_different_seed_differs():
    train, val = _separable(96, 3), _separable(32, 4)
    cfg = TrainConfig(epochs=3, batch_size=16, seed=11, patience=None)
    runs = []
    for seed in (11, 11, 12):
        model = build_cnn(2, seed=0)
        runs.append(fit(model, train, val, TrainConfig(**{**cfg.__dict__, "seed": seed}), progress=False))
    a, b, c = runs
    assert a.history.equals(b.history)
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert not a.history["train_loss"].equals(c.history["train_loss"])


def test_early_stopping_stops_and_keeps_best_epoch():
    # validation labels are the training labels flipped: learning the training set makes the
    # validation score worse, so an early epoch stays best and training stops `patience` later
    x, y = _separable(64, 5)
    res = fit(build_cnn(2, seed=0), (x, y), (x, 1 - y),
              TrainConfig(epochs=50, patience=2, lr=3e-3, seed=0), progress=False)
    assert res.best_epoch <= 3
    assert len(res.history) == res.best_epoch + 2


def test_monitor_loss_selects_min_validation_loss():
    train, val = _separable(64, 6), _separable(32, 7)
    res = fit(build_cnn(2, seed=1), train, val,
              TrainConfig(epochs=5, patience=None, monitor="loss", lr=3e-3, seed=2), progress=False)
    assert res.best_epoch == int(res.history.loc[res.history["val_loss"].idxmin(), "epoch"])
    with pytest.raises(ValueError, match="monitor"):
        TrainConfig(monitor="auc")


def test_threads_restored():
    before = torch.get_num_threads()
    x, y = _separable(16, 0, size=8)
    fit(build_cnn(2, seed=0), (x, y), (x, y), TrainConfig(epochs=1, num_threads=1), progress=False)
    assert torch.get_num_threads() == before


def test_bad_input_rejected():
    x, y = _separable(8, 0, size=8)
    with pytest.raises(ValueError, match="val"):
        fit(build_cnn(2), (x, y), (x[:, :, 0], y), TrainConfig(epochs=1), progress=False)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="train images contain NaN"):
        fit(build_cnn(2), (bad, y), (x, y), TrainConfig(epochs=1), progress=False)
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_mannwhitneyu(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(y * 0.7, 1.0), 1)  # rounding creates ties
    u = mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert roc_auc(s, y) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), rel=1e-12)


def test_auc_edge_cases():
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5
    assert np.isnan(roc_auc([0.1, 0.2], [1, 1]))
    with pytest.raises(ValueError):
        roc_auc([0.1, 0.2], [0, 2])


def test_checkpoint_roundtrip(tmp_path):
    x, y = _separable(16, 0, size=8)
    model = build_cnn(2, seed=3)
    ckpt = make_checkpoint(model.state_dict(), {"in_channels": 2, "experiment": "x", "accuracy": 0.5})
    path = save_checkpoint(ckpt, tmp_path / "sub" / "m.pt")
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temp file left
    back = load_checkpoint(path)
    assert back["meta"]["experiment"] == "x"
    assert torch.equal(predict_scores(model_from_checkpoint(back), x), predict_scores(model, x))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="in_channels"):
        make_checkpoint(model.state_dict(), {})


def test_checkpoint_format_on_file_objects():
    """One definition of the format: write_checkpoint/read_checkpoint work on any binary file."""
    import io

    from glens_sim.training import read_checkpoint, write_checkpoint

    model = build_cnn(1, seed=0)
    buffer = io.BytesIO()
    write_checkpoint({"state_dict": model.state_dict(), "meta": {"in_channels": 1}}, buffer)
    buffer.seek(0)
    back = read_checkpoint(buffer)
    assert back["meta"] == {"in_channels": 1}
    assert all(torch.equal(back["state_dict"][k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="state_dict, meta"):
        write_checkpoint({"state_dict": {}}, io.BytesIO())
    evil = io.BytesIO()
    torch.save({"state_dict": {}, "meta": {"x": object()}}, evil)
    evil.seek(0)
    with pytest.raises(ValueError, match="not a readable"):
        read_checkpoint(evil)
