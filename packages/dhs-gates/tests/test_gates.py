"""Each gate on data built to pass it and on data built to fail it; bad input gives "not run" naming the cause."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dhs_gates import (
    bandset,
    class_conditional_quality,
    core_brightness_matching,
    core_lr_auc,
    core_only_baseline,
    distribution_shift,
    gate_inputs,
    invvar_availability,
    leakage_audit,
    normalisation_effect_size,
    paired_integrity,
    pipeline_parity,
    radial_profile_auc,
    split_integrity,
    stratified_auc,
)
from dhs_gates.leakage import classify_columns, dangerous_columns
from dhs_gates.result import GateResult

from .conftest import make_store


def _check(result: GateResult, status: str) -> None:
    assert result.status == status, result
    assert (result.passed is None) == (status == "not run")
    result.model_dump_json()  # JSON-serialisable


# ---------------------------------------------------------------- leakage
def test_leakage_audit_passes_observing_conditions_and_fails_injection_columns() -> None:
    _check(leakage_audit(["psfsize_r", "psfdepth_r", "ebv"]), "passed")
    bad = leakage_audit(["psfsize_r", "arc_snr", "lens_theta_E"], store_columns=["stamp", "label"])
    _check(bad, "failed")
    assert bad.value == 2 and bad.details["dangerous"] == ["arc_snr", "lens_theta_E"]
    unknown = leakage_audit(["psfsize_r", "mystery"])
    _check(unknown, "failed")
    assert unknown.details["unknown"] == ["mystery"]


def test_leakage_list_covers_the_store_contract_and_upstream() -> None:
    assert dangerous_columns(["label", "is_control", "src_mag_r", "shear_gamma1", "magnification", "psfsize_z"]) == [
        "label", "is_control", "src_mag_r", "shear_gamma1", "magnification"]
    assert classify_columns(["psfdepth_g", "ebv"])["safe"] == ["psfdepth_g", "ebv"]


# ---------------------------------------------------------------- table gates
def test_split_integrity(clean_store: pd.DataFrame) -> None:
    _check(split_integrity(clean_store), "passed")
    bad = split_integrity(make_store(12, overlap=True))
    _check(bad, "failed")
    assert bad.details["healpix"]["n_shared"] == 1 and bad.details["healpix"]["examples"] == ["0"]
    missing = split_integrity(clean_store.drop(columns="healpix"))
    _check(missing, "not run")
    assert "healpix" in missing.reason


def test_paired_integrity(clean_store: pd.DataFrame) -> None:
    _check(paired_integrity(clean_store), "passed")
    broken = clean_store.copy()
    broken.at[0, "ctrl_stamp"] = broken.at[0, "stamp"]  # identical pair
    nan = np.array(broken.at[1, "stamp"]); nan[0, 0, 0] = np.nan  # noqa: E702
    broken.at[1, "stamp"] = nan
    broken.at[2, "stamp"] = np.zeros((3, 32, 32), np.float32)  # wrong shape
    res = paired_integrity(broken, n_rows=len(broken))
    _check(res, "failed")
    fails = res.details["failing_rows"]
    assert fails["not_identical"] >= 1 and fails["no_nan_inf"] == 1 and fails["shape_match"] == 1
    assert fails["expected_shape"] == 1 and res.value == 4
    _check(paired_integrity(clean_store.drop(columns="ctrl_stamp")), "not run")


def test_bandset_and_invvar(clean_store: pd.DataFrame) -> None:
    _check(bandset(clean_store), "passed")
    bad = clean_store.assign(bandset=["grz"] * (len(clean_store) - 1) + ["gr"])
    assert bandset(bad).value == 1 and bandset(bad).status == "failed"
    assert "bandset" in bandset(clean_store.drop(columns="bandset")).reason
    _check(invvar_availability(clean_store), "passed")
    deferred = invvar_availability(clean_store.drop(columns="invvar"))
    _check(deferred, "not run")
    assert "deferred" in deferred.reason
    partial = clean_store.copy()
    partial.at[0, "invvar"] = None
    _check(invvar_availability(partial), "failed")


def _unpaired(store: pd.DataFrame, shift: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ctrl = store.assign(label=0, ctrl_stamp=None, pairing="unpaired", lrg_id=store["lrg_id"] + "c",
                        bad_pixel_frac=rng.uniform(0, 0.05, len(store)) + shift)
    return pd.concat([store, ctrl], ignore_index=True)


def test_class_conditional_quality(clean_store: pd.DataFrame) -> None:
    big = make_store(300, seed=3)
    _check(class_conditional_quality(_unpaired(big, 0.0), split=None), "passed")
    res = class_conditional_quality(_unpaired(big, 0.02), split=None)
    _check(res, "failed")
    assert res.details["tests"]["bad_pixel_frac"]["p"] < 0.01
    only_paired = class_conditional_quality(clean_store)
    _check(only_paired, "not run")
    assert "0 controls" in only_paired.reason


def test_distribution_shift_uses_random_rows() -> None:
    store = make_store(300, seed=4, splits=("val", "test"))
    _check(distribution_shift(store, columns=("psfsize_r",)), "passed")
    shifted = store.copy()
    shifted.loc[shifted["split"] == "test", "psfsize_r"] += 0.3
    _check(distribution_shift(shifted, columns=("psfsize_r", "nope")), "failed")
    # the first rows of 'test' are shifted, the rest not: a first-rows KS would see only shifted rows
    first = store.copy()
    idx = first.index[first["split"] == "test"][:20]
    first.loc[idx, "psfsize_r"] += 0.3
    res = distribution_shift(first, columns=("psfsize_r",), max_rows=100)
    assert res.sample_sizes == {"n_val": 100, "n_test": 100}
    assert res.details["tests"]["psfsize_r"]["test_mean"] < store.loc[idx, "psfsize_r"].mean() + 0.3
    _check(distribution_shift(store.drop(columns="split")), "not run")


def test_stratified_auc_compares_each_bin_with_all_negatives() -> None:
    rng = np.random.default_rng(0)
    theta = np.r_[rng.uniform(0.5, 3.0, 400), np.zeros(200)]
    labels = np.r_[np.ones(400, int), np.zeros(200, int)]
    scores = np.r_[rng.normal(1.0, 1.0, 400) + theta[:400], rng.normal(0, 1, 200)]
    res = stratified_auc(scores, labels, theta)
    _check(res, "passed")
    for b in res.details["bins"]:
        assert b["n_neg"] == 200  # every negative in every bin (controls have θ_E = 0)
        hi = np.inf if b["bin"][1] is None else b["bin"][1]  # JSON has no inf
        sel = ((theta >= b["bin"][0]) & (theta < hi) & (labels == 1)) | (labels == 0)
        if b["auc"] is not None:
            assert b["auc"] == pytest.approx(roc_auc_score(labels[sel], scores[sel]))
    scores_bad = scores.copy()
    low = (labels == 1) & (theta < 0.75)
    scores_bad[low] = rng.normal(-1, 1, low.sum())
    _check(stratified_auc(scores_bad, labels, theta), "failed")
    _check(stratified_auc(None, labels, theta), "not run")
    assert "lengths differ" in stratified_auc(scores[:10], labels, theta).reason
    assert "negatives < 1000" in stratified_auc(scores, labels, theta, min_per_bin=1000).reason
    assert "no theta_e_over_psf bin" in stratified_auc(scores, labels, theta, min_per_bin=190).reason


# ---------------------------------------------------------------- image shortcut gates
def test_core_lr_auc_passes_clean_pairs_and_catches_a_planted_core_shortcut(clean_store, shortcut_store) -> None:
    clean = gate_inputs(clean_store)
    _check(core_lr_auc(clean.stamps, clean.labels, groups=clean.groups, preprocess="raw_robust"), "passed")
    short = gate_inputs(shortcut_store)
    res = core_lr_auc(short.stamps, short.labels, groups=short.groups, preprocess="raw_robust")
    _check(res, "failed")
    assert res.sample_sizes["n_groups"] == 60 and res.details["roc"]["fpr"][0] == 0.0


def test_core_lr_auc_bad_input_is_not_run(clean_store) -> None:
    d = gate_inputs(clean_store)
    assert "groups has 5 entries" in core_lr_auc(d.stamps, d.labels, groups=d.groups[:5]).reason
    assert "one class" in core_lr_auc(d.stamps, np.ones_like(d.labels), groups=d.groups).reason
    assert "groups" in core_lr_auc(d.stamps, d.labels, groups=None).reason
    few = np.r_[0:3, 60:63]  # three hosts, each with its positive and its control
    assert "fewer than the 5 CV folds" in core_lr_auc(d.stamps[few], d.labels[few], groups=d.groups[few]).reason


def test_lr_gates_are_grouped_by_host() -> None:
    """Replicates of a host share its fingerprint; labels are random per host. Ungrouped CV would memorise the
    hosts (AUC ≈ 1); grouped out-of-fold CV sees no signal (AUC ≈ 0.5)."""
    rng = np.random.default_rng(5)
    n_hosts, reps = 40, 6
    hosts = rng.normal(size=(n_hosts, 3, 64, 64)).astype(np.float32)
    host_label = rng.permutation(np.r_[np.ones(n_hosts // 2, int), np.zeros(n_hosts // 2, int)])
    stamps = np.repeat(hosts, reps, axis=0) + rng.normal(0, 0.01, (n_hosts * reps, 3, 64, 64)).astype(np.float32)
    labels, groups = np.repeat(host_label, reps), np.repeat(np.arange(n_hosts), reps)
    res = core_lr_auc(stamps, labels, groups=groups)
    assert res.status == "passed" and res.value < 0.65
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    feats = stamps[:, :, 27:37, 27:37].reshape(len(stamps), -1)
    leaky = cross_val_predict(LogisticRegression(max_iter=500), feats, labels, method="predict_proba",
                              cv=StratifiedKFold(5, shuffle=True, random_state=0))[:, 1]
    assert roc_auc_score(labels, leaky) > 0.9  # what the grouping prevents


def test_radial_profile_auc_and_preprocessing(clean_store) -> None:
    d = gate_inputs(clean_store)
    raw = radial_profile_auc(d.stamps, d.labels, groups=d.groups, preprocess="raw_robust")
    _check(raw, "failed")  # the arc raises its rings' medians in the raw profile
    _check(radial_profile_auc(d.stamps, d.labels, groups=d.groups, preprocess="residual_radial_profile"), "passed")


def test_core_only_baseline(clean_store, shortcut_store) -> None:
    d = gate_inputs(clean_store)
    _check(core_only_baseline(d.stamps, d.labels, groups=d.groups, preprocess="raw_robust"), "passed")
    s = gate_inputs(shortcut_store)
    _check(core_only_baseline(s.stamps, s.labels, groups=s.groups, preprocess="raw_robust"), "failed")


def test_normalisation_and_brightness(clean_store, shortcut_store) -> None:
    d, s = gate_inputs(clean_store), gate_inputs(shortcut_store)
    _check(normalisation_effect_size(d.stamps, d.labels), "passed")
    _check(normalisation_effect_size(s.stamps, s.labels), "failed")
    ok = core_brightness_matching(d.stamps, d.labels)
    _check(ok, "passed")
    assert ok.value == pytest.approx(1.0, abs=0.01)
    bright = core_brightness_matching(s.stamps, s.labels)
    _check(bright, "failed")
    assert bright.value > 1.05
    assert "one class" in core_brightness_matching(d.stamps, np.zeros_like(d.labels)).reason
    assert "unknown" in normalisation_effect_size(d.stamps, d.labels, preprocess="nope").reason


def test_pipeline_parity(clean_store) -> None:
    d = gate_inputs(clean_store)
    same = pipeline_parity(d.stamps, d.stamps * 1.02)
    _check(same, "passed")
    assert same.value == pytest.approx(1 / 1.02) and same.details["mean_correlation"] == pytest.approx(1.0)
    _check(pipeline_parity(d.stamps, d.stamps * 1.3), "failed")
    _check(pipeline_parity(None, d.stamps), "not run")
