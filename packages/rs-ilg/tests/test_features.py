"""RS features builder (spec 8): reproduction of reference_results/rs_features in compat mode, physics
checks of the structure-tensor fields, corrected-mode switches, files and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from astropy import constants as const
from astropy import units as u

from rs_ilg import features as F
from rs_ilg.cli import main
from rs_ilg.constants import C_LAG
from rs_ilg.modes import ModeConfig
from rs_ilg.proxies import ComponentWeights

COMPAT = ModeConfig.compat()
CORR = ModeConfig.corrected()


@pytest.fixture(scope="module")
def fs_compat(master_compat, names156):
    return F.build_features(master_compat, names156, F.FeaturesConfig(), COMPAT, progress=False)


def test_reference_thresholds_and_xi(fs_compat, reference_dir):
    ref = json.loads((reference_dir / "rs_features" / "thresholds.json").read_text())
    assert len(fs_compat.galaxies) == ref["sample_size"] == 156
    np.testing.assert_allclose(fs_compat.thresholds, ref["thresholds"], rtol=1e-12, atol=0)
    th = fs_compat.thresholds_json()
    for k in ("B", "sample_size", "pixscale_kpc", "lambda_rec_kpc", "A", "p"):
        assert th[k] == pytest.approx(ref[k], rel=1e-12), k
    for name, g in fs_compat.galaxies.items():
        j = json.loads((reference_dir / "rs_features" / name / "features.json").read_text())
        mine = g.features_json()
        assert mine["xi_bin"] == j["xi_bin"], name
        assert mine["u_center"] == pytest.approx(j["u_center"], rel=1e-15)
        assert mine["xi"] == pytest.approx(j["xi"], rel=1e-15)
        assert mine["Rd_kpc"] == pytest.approx(j["Rd_kpc"], rel=1e-9)
        assert mine["pixscale_kpc"] == pytest.approx(j["pixscale_kpc"], rel=1e-12)
        for k in ("g_ext_SI", "lambda_rec_kpc", "A", "p"):
            assert mine[k] == j[k]


def test_reference_fields_and_profiles(fs_compat, reference_dir):
    worst = {}
    for name, g in fs_compat.galaxies.items():
        d = reference_dir / "rs_features" / name
        for fname, mine in (("fields.npz", g.fields), ("profiles.npz", g.profiles)):
            with np.load(d / fname) as z:
                assert sorted(z.files) == sorted(mine), (name, fname)
                for k in z.files:
                    assert z[k].dtype == mine[k].dtype == np.float32
                    assert z[k].shape == mine[k].shape
                    rel = np.max(np.abs(z[k].astype(float) - mine[k]) / np.maximum(np.abs(z[k]), 1e-30))
                    worst[k] = max(worst.get(k, 0.0), float(rel))
    # float32 outputs: everything bit-identical except the eigenvalue ratio (1 ulp)
    assert max(worst.values()) < 1e-6, worst


def test_xi_values_match_spec():
    th = [1.0, 2.0, 3.0, 4.0]
    xis = [F.xi_from_value(v, th)[2] for v in (0.5, 1.0, 2.5, 3.5, 9.0)]
    np.testing.assert_allclose(xis, [1.0285, 1.0494, 1.0638, 1.0754, 1.0855], atol=5e-5)
    assert F.xi_from_value(2.0, th)[0] == 2  # a value equal to a threshold counts it


def _exp_disc(rd_kpc: float, n: int = 96, box: float = 8.0):
    w = ComponentWeights(disk=1.0, gas=0.0, bulge=0.0)
    return F.feature_sigma_proxy(rd_kpc, w, nx=n, ny=n, box_factor_xy=box, mode=COMPAT)


def test_structure_fields_exponential_disc_analytic():
    # grad ln Sigma = -R_hat / R_d, so |s|^2 = (dx/R_d)^2 [pixel^-2] away from the centre and the edges
    rd = 2.0
    sigma, dx, _ = _exp_disc(rd)
    f = F.structure_fields(sigma, dx, lambda_rec_kpc=0.5, mode=COMPAT)
    r = np.hypot(*np.meshgrid(np.arange(96) - 47.5, np.arange(96) - 47.5)) * dx
    ring = (r > 1.5 * rd) & (r < 4.0 * rd)
    np.testing.assert_allclose(f["traceS"][ring], (dx / rd) ** 2, rtol=0.03)
    np.testing.assert_allclose(f["D_iso"], 1.0 / (1.0 + 0.5 * f["traceS"]), rtol=1e-14)
    np.testing.assert_allclose(f["ell_rec_kpc"], 0.5 / np.sqrt(1.0 + f["traceS"]), rtol=1e-14)
    # radial gradient: the tensor is rank one, so the anisotropy is small and zeta_local near 1 - C_lag
    assert np.median(f["anisotropy"][ring]) < 0.3
    assert np.all((f["zeta_local"] >= 1 - C_LAG - 1e-12) & (f["zeta_local"] <= 1.0 + 1e-12))
    fc = F.structure_fields(sigma, dx, lambda_rec_kpc=0.5, mode=CORR)
    np.testing.assert_allclose(fc["D_iso"], 1.0 / (1.0 + fc["traceS"]), rtol=1e-14)


def test_structure_fields_constant_and_one_dimensional_maps():
    f = F.structure_fields(np.ones((32, 32)), 0.1, 0.5, COMPAT)
    assert np.all(f["traceS"] == 0) and np.all(f["D_iso"] == 1) and np.allclose(f["ell_rec_kpc"], 0.5)
    x = np.arange(32)
    stripes = np.tile(np.exp(0.3 * np.sin(2 * np.pi * x / 32)), (32, 1))  # varies along x only
    g = F.structure_fields(stripes, 0.1, 0.5, COMPAT)
    assert np.allclose(g["syy"], 0, atol=1e-15) and np.allclose(g["sxy"], 0, atol=1e-15)
    assert np.allclose(g["anisotropy"], 0, atol=1e-6)


def test_derive_rd_recovers_scale_length():
    for rd in (0.8, 2.0, 5.0):
        sigma, dx, _ = _exp_disc(rd)
        assert F.derive_rd(sigma, dx) == pytest.approx(rd, rel=0.02)
    # too-small discs are floored at 0.5 kpc
    sigma, dx, _ = _exp_disc(0.2)
    assert F.derive_rd(sigma, dx) >= 0.5


def test_ring_medians_match_bruteforce():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20, 24))
    q, med = F.ring_medians(a)
    yy, xx = np.indices(a.shape)
    rp = np.hypot(yy - 9.5, xx - 11.5)
    for qi, m in zip(q, med):
        sel = (rp - qi >= -0.5) & (rp - qi < 0.5)
        assert m == pytest.approx(np.median(a[sel]))
    assert q[-1] == 9


def test_corrected_mode_switches(master_corrected, sparc_table):
    from rs_ilg.master import subset_names

    names = subset_names(master_corrected, CORR)[:6]
    fs = F.build_features(master_corrected, names, F.FeaturesConfig(), CORR, progress=False)
    for n, g in fs.galaxies.items():
        assert g.rd_input_kpc == pytest.approx(float(sparc_table.loc[n, "Rdisk"]))
        r = g.profiles["r_kpc"].astype(float)
        np.testing.assert_allclose(g.profiles["n_of_r"], 1 + 7 * (1 - np.exp(-((r / 8.0) ** 1.6))), rtol=1e-6)
        t = g.fields["traceS"].astype(float)
        np.testing.assert_allclose(g.fields["D_iso"], 1 / (1 + t), rtol=1e-6)


def test_bulge_proxy_unnormalised_vs_unit_peak():
    w = ComponentWeights(disk=0.6, gas=0.2, bulge=0.2)
    s_compat, dx, _ = F.feature_sigma_proxy(1.0, w, nx=64, ny=64, mode=COMPAT)
    s_corr, _, _ = F.feature_sigma_proxy(1.0, w, nx=64, ny=64, mode=CORR)
    r = np.hypot(*np.meshgrid(np.arange(64) - 31.5, np.arange(64) - 31.5)) * dx
    # compat: the kpc^-4 bulge dominates after the divide-by-max, so the disc at 2 R_d is ~invisible
    assert s_compat[np.abs(r - 2.0) < dx].max() < 0.05
    assert s_corr[np.abs(r - 2.0) < dx].max() > 0.1


def test_project_density_axis():
    rho = np.zeros((8, 10, 4))
    rho[:, :, 2] = 1.0  # a sheet at one z
    assert F.project_density(rho, COMPAT).shape == (10, 4)  # original: sums y
    face_on = F.project_density(rho, CORR)
    assert face_on.shape == (8, 10) and np.all(face_on == 1.0)


def test_g_ext_from_neighbours_against_astropy():
    expected = (const.G * 1e11 * u.Msun / (100 * u.kpc) ** 2).to_value(u.m / u.s**2)
    assert F.g_ext_from_neighbours([1e11], [100.0]) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError):
        F.g_ext_from_neighbours([1e11], [0.0])


def test_skips_and_bad_names(master_compat):
    few = next(n for n, g in master_compat.items() if g.n_points < 5)
    fs = F.build_features(master_compat, [few, "CamB", "DDO154"], F.FeaturesConfig(), COMPAT,
                          thresholds=[0.01, 0.02, 0.03, 0.04], progress=False)  # fmt: skip
    assert set(fs.galaxies) == {"CamB", "DDO154"}
    assert fs.skipped["galaxy"].tolist() == [few] and "fewer than 5" in fs.skipped["reason"].iloc[0]
    with pytest.raises(KeyError, match="NOPE"):
        F.build_features(master_compat, ["NOPE"], F.FeaturesConfig(), COMPAT, progress=False)
    with pytest.raises(ValueError, match="thresholds"):
        F.build_features(master_compat, ["CamB"], F.FeaturesConfig(), COMPAT, thresholds=[0.1], progress=False)


def test_write_and_load_roundtrip(fs_compat, tmp_path, reference_dir):
    sub = F.FeatureSet(galaxies={k: fs_compat.galaxies[k] for k in ("CamB", "DDO154")},
                       thresholds=fs_compat.thresholds, config=fs_compat.config, mode=COMPAT)  # fmt: skip
    staging = F.write_features(sub, tmp_path / "feat.stage", progress=False)
    root = staging.rename(tmp_path / "feat")  # as the Kedro project's staged folder save does
    assert not list(root.rglob("*.tmp"))
    recorded = json.loads((root / "DDO154" / "features.json").read_text())["thresholds_file"]
    assert (root / "DDO154" / recorded).resolve() == (root / "thresholds.json").resolve()
    assert json.loads((root / "thresholds.json").read_text())["thresholds"] == list(sub.thresholds)
    back = F.load_features(root, "DDO154")
    orig = sub.galaxies["DDO154"]
    assert back.xi_bin == orig.xi_bin and back.rd_kpc == orig.rd_kpc and back.complexity == orig.complexity
    for k in F.FIELD_NAMES:
        np.testing.assert_array_equal(back.fields[k], orig.fields[k])
    # the original's folders load the same way (the 3D runner's features path)
    ref = F.load_features(reference_dir / "rs_features", "DDO154")
    np.testing.assert_array_equal(ref.fields["ell_rec_kpc"], orig.fields["ell_rec_kpc"])
    table = F.load_feature_table(root)
    assert table["galaxy"].tolist() == ["CamB", "DDO154"]
    with pytest.raises(FileNotFoundError, match="NGC0000"):
        F.load_features(root, "NGC0000")
    (root / "CamB" / "features.json").write_text("{not json")
    with pytest.raises(ValueError, match="CamB/features.json"):
        F.load_features(root, "CamB")


def test_cli_features_on_mock(tmp_path):
    out = tmp_path / "feat"
    assert main(["features", "--mock", "8", "--subset", "all", "--nx", "48", "--ny", "48", "--out_root", str(out),
                 "--no-progress"]) == 0  # fmt: skip
    th = json.loads((out / "thresholds.json").read_text())
    summ = pd.read_csv(out / "features_summary.csv")
    assert th["sample_size"] == len(summ) > 0
    for name in summ["galaxy"]:
        g = F.load_features(out, name)
        assert g.fields["D_iso"].shape == (48, 48)
        assert math.isfinite(g.xi)
    assert (out / "skipped.csv").is_file()


def test_cli_features_bad_thresholds(tmp_path, capsys):
    bad = tmp_path / "th.json"
    bad.write_text(json.dumps({"B": 5}))
    rc = main(["features", "--mock", "3", "--subset", "all", "--thresholds-in", str(bad), "--out-dir",
               str(tmp_path / "o"), "--no-progress"])  # fmt: skip
    assert rc == 2 and "thresholds" in capsys.readouterr().err
    assert not (tmp_path / "o" / "thresholds.json").exists()
