"""Experiment runners end to end on synthetic MaNGA galaxies (tiny sizes)."""

import json
import math

import pytest
import torch

from glens_sim.config import LensSimConfig
from glens_sim.labelled_sets import CHANNEL_MODES
from glens_sim.experiments import (
    RESULT_COLUMNS, ExperimentConfig, ExperimentRuns, build_experiment_data, run_kinematics_control,
    run_lensed_vs_unlensed, run_subhalo_detection, run_sweep, train_on,
)
from glens_sim.maps_io import read_maps
from glens_sim.sources import SourceConfig, make_source_tensor
from glens_sim.synthetic import make_synthetic_sample
from glens_sim.training import evaluate, load_checkpoint, model_from_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Source tensors (2, 32, 32) of six synthetic galaxies written as DR17 MAPS files."""
    paths = make_synthetic_sample(tmp_path_factory.mktemp("maps"), 6, seed=3, progress=False)
    out = {}
    for p in paths:
        st = make_source_tensor(read_maps(p), SourceConfig(size=32))
        out[st.plateifu] = st.tensor
    return out


TINY = ExperimentConfig(n_train=24, n_val=16, n_test=24, epochs=6, batch_size=16, lr=3e-3,
                        patience=None, seed=5)


def test_config_validation_and_overrides():
    # the simulation is set in one place: a lens field given is the lens field used
    cfg = ExperimentConfig(lens=LensSimConfig(theta_E_main=0.7, psf_sigma=1.0))
    assert (cfg.lens.theta_E_main, cfg.lens.psf_sigma) == (0.7, 1.0)
    from_yaml = ExperimentConfig(**{"epochs": 3, "lens": {"psf_sigma": 1.0, "supersampling": 2}})
    assert from_yaml.lens.psf_sigma == 1.0 and from_yaml.lens.supersampling == 2
    easy = ExperimentConfig().lens  # default: the original's easy regime
    assert (easy.theta_E_sub_factor, easy.psf_sigma, easy.flux_noise_sigma, easy.vel_noise_sigma) == (0.3, 0, 0, 0)
    json.dumps(cfg.to_dict())  # flat and JSON-safe
    for twin in ("subhalo_factor", "psf_sigma", "flux_noise", "vel_noise"):
        with pytest.raises(ValueError, match=twin):
            ExperimentConfig(**{twin: 0.1})
    with pytest.raises(ValueError, match="n_test"):
        ExperimentConfig(n_test=1)
    with pytest.raises(ValueError, match="channel_mode"):
        ExperimentConfig(channel_mode="velocity")
    with pytest.raises(ValueError, match="psf_sigma"):
        ExperimentConfig(lens={"psf_sigma": -1.0})


def test_lensed_vs_unlensed_is_learned(sources):
    runs = run_lensed_vs_unlensed(sources, TINY, progress=False)
    assert list(runs.table.columns) == list(RESULT_COLUMNS)
    row = runs.table.iloc[0]
    assert row["experiment"] == "lensed_vs_unlensed" and row["channel_mode"] == "both"
    assert math.isnan(row["factor"])
    assert row["accuracy"] > 0.9 and row["auc"] > 0.95
    assert (row["n_train"], row["n_val"], row["n_test"]) == (3 * 24, 16, 2 * 24)
    # galaxy split: disjoint, complete
    parts = [set(row[f"{s}_galaxies"].split(",")) for s in ("train", "val", "test")]
    assert set().union(*parts) == set(sources)
    assert sum(len(p) for p in parts) == len(sources)


def test_same_seed_same_results_and_checkpoints_reload(sources, tmp_path):
    data = build_experiment_data(sources, TINY, "subhalo_detection", progress=False)
    gals = [set(s.meta["galaxy"]) for s in (data.train, data.val, data.test)]
    assert not (gals[0] & gals[1] or gals[0] & gals[2] or gals[1] & gals[2])
    a = train_on(data, CHANNEL_MODES, progress=False)
    b = run_subhalo_detection(sources, TINY, channel_modes=CHANNEL_MODES, progress=False)
    assert a.table.equals(b.table)
    assert a.histories.equals(b.histories)
    assert list(a.table["channel_mode"]) == list(CHANNEL_MODES)
    assert a.table["run_id"].is_unique
    for run_id, ckpt in a.checkpoints.items():
        for k, v in ckpt["state_dict"].items():
            assert torch.equal(v, b.checkpoints[run_id]["state_dict"][k])
        back = load_checkpoint(save_checkpoint(ckpt, tmp_path / f"{run_id}.pt"))
        row = a.table.set_index("run_id").loc[run_id]
        model = model_from_checkpoint(back)
        assert evaluate(model, *data.test.xy(row["channel_mode"]))["accuracy"] == row["accuracy"]
        assert back["meta"]["result"]["accuracy"] == row["accuracy"]
    c = run_subhalo_detection(sources, ExperimentConfig(**{**TINY.__dict__, "seed": 6}),
                              channel_modes=("flux",), progress=False)
    flux_a = a.histories[a.histories["run_id"] == a.table["run_id"][0]].drop(columns="run_id")
    assert not flux_a.reset_index(drop=True).equals(c.histories.drop(columns="run_id"))


def test_kinematics_control_flux_only_cannot_beat_chance(sources):
    runs = run_kinematics_control(sources, TINY, channel_modes=("flux",), progress=False)
    row = runs.table.iloc[0]
    assert row["experiment"] == "kinematics_control"
    # flux is identically distributed in both classes: a flux-only model stays near chance
    assert abs(row["auc"] - 0.5) < 0.2 and abs(row["accuracy"] - 0.5) < 0.2


def test_sweep_grid_and_errors(sources):
    cfg = ExperimentConfig(**{**TINY.__dict__, "epochs": 1, "n_train": 8, "n_val": 4, "n_test": 4})
    runs = run_sweep(sources, cfg, channel_modes=("flux", "vel"), factors=(0.1, 0.3),
                     noises=[(0.0, 0.0), (0.05, 0.02)], progress=False)
    t = runs.table
    assert len(t) == 2 * 2 * 2 and t["run_id"].is_unique
    assert sorted(set(t["factor"])) == [0.1, 0.3]
    assert sorted(set(zip(t["flux_noise"], t["vel_noise"]))) == [(0.0, 0.0), (0.05, 0.02)]
    assert set(runs.checkpoints) == set(t["run_id"])
    assert set(runs.histories["run_id"]) == set(t["run_id"])
    with pytest.raises(ValueError, match="factors"):
        run_sweep(sources, cfg, experiment="lensed_vs_unlensed", factors=(0.1, 0.3), progress=False)
    with pytest.raises(ValueError, match="experiment"):
        run_sweep(sources, cfg, experiment="nope", progress=False)
    with pytest.raises(ValueError, match="duplicate run ids"):
        ExperimentRuns.concat([runs, runs])


def test_cli_experiment_writes_table_and_checkpoints(sources, tmp_path):
    from glens_sim.cli import main
    from glens_sim.sources import save_source_tensor

    src_dir = tmp_path / "src"
    for name, tensor in sources.items():
        save_source_tensor(tensor, src_dir / f"source_tensor_{name}.npy")
    out = tmp_path / "res.csv"
    rc = main(["experiment", str(src_dir), "--channel-modes", "vel", "--n-train", "4", "--n-val", "2",
               "--n-test", "2", "--epochs", "1", "--psfs", "0,1", "-o", str(out),
               "--checkpoints", str(tmp_path / "ck"), "--quiet"])
    assert rc == 0
    import pandas as pd

    table = pd.read_csv(out)
    assert sorted(table["psf"]) == [0.0, 1.0] and set(table["channel_mode"]) == {"vel"}
    ckpts = sorted(p.stem for p in (tmp_path / "ck").glob("*.pt"))
    assert ckpts == sorted(table["run_id"])
    assert load_checkpoint(tmp_path / "ck" / f"{ckpts[0]}.pt")["meta"]["in_channels"] == 1


def test_per_galaxy_metrics_consistent_with_pooled(sources):
    from glens_sim.experiments import per_galaxy_metrics

    cfg = ExperimentConfig(**{**TINY.__dict__, "epochs": 2})
    data = build_experiment_data(sources, cfg, "lensed_vs_unlensed", progress=False)
    runs = train_on(data, ("flux",), progress=False)
    per = per_galaxy_metrics(data, runs)
    assert set(per["galaxy"]) == set(data.test.meta["galaxy"]) and per["n"].sum() == len(data.test)
    pooled = (per["accuracy"] * per["n"]).sum() / per["n"].sum()
    assert pooled == pytest.approx(runs.table["accuracy"].iloc[0])
    with pytest.raises(ValueError, match="split"):
        per_galaxy_metrics(data, runs, split="dev")


def test_report_keys_never_collide(sources, caplog):
    """Issue 12: the sweep's short runs must not overwrite the headline metrics, and two runs that
    differ in any setting never share a run_id."""
    from glens_sim.experiments import SweepConfig, accuracy_table, run_metrics

    headline_cfg = ExperimentConfig(**{**TINY.__dict__, "epochs": 1, "n_train": 8, "n_val": 4, "n_test": 4})
    headline = run_subhalo_detection(sources, headline_cfg, channel_modes=("flux",), progress=False).table
    sweep = SweepConfig(channel_modes=("flux",), factors=(0.1, 0.3), settings={"n_train": 6})
    with caplog.at_level("WARNING", logger="glens_sim.experiments"):
        swept = sweep.run(sources, headline_cfg, progress=False).table
    assert "2 grid points x 1 channel modes = 2 trainings" in caplog.text  # the cost is announced
    # same experiment, mode, factor (0.3), PSF, noise and seed as the headline run: a distinct run_id
    same_point = swept[swept["factor"] == 0.3].iloc[0]
    assert same_point["run_id"] != headline["run_id"].iloc[0]
    assert same_point["run_id"].rsplit("__", 1)[0] == headline["run_id"].iloc[0].rsplit("__", 1)[0]
    table = accuracy_table(headline, swept)
    assert len(table) == 3
    metrics = run_metrics(headline) | run_metrics(swept, "sweep.", by_setting=True)
    assert metrics["subhalo_detection.flux.accuracy"] == headline["accuracy"].iloc[0]
    assert "sweep.subhalo_detection.flux.f0.3.psf0.n0-0.accuracy" in metrics and len(metrics) == 6
    with pytest.raises(ValueError, match=r"metric key 'subhalo_detection\.flux' names two runs"):
        run_metrics(table)  # keyed by experiment and mode alone, the sweep would overwrite the headline
    with pytest.raises(ValueError, match="run_id appears in more than one row"):
        accuracy_table(headline, headline)


def test_sweep_config_validates_its_settings():
    from glens_sim.experiments import SweepConfig

    assert SweepConfig(settings={"epochs": 2}).experiment_config(TINY).epochs == 2
    with pytest.raises(ValueError, match="epoch"):
        SweepConfig(settings={"epoch": 2})
    with pytest.raises(ValueError, match="channel_modes"):
        SweepConfig(channel_modes=("velocity",))
    with pytest.raises(ValueError, match="experiment"):
        SweepConfig(experiment="nope")
