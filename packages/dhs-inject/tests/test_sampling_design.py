"""Parent sample, HEALPix splits, grids, priors, frozen randomness, rejection sampling and the manifest."""

from __future__ import annotations

import os
import hashlib
from pathlib import Path

import healpy as hp
import numpy as np
import pandas as pd
import pytest
from lenstronomy.Util.param_util import phi_q2_ellipticity
from scipy import stats

from dhs_inject.grids import build_grid, grid_names
from dhs_inject.lrg import lrg_mask, read_lrg_catalogue, select_lrgs
from dhs_inject.manifest import MANIFEST_COLUMNS, ManifestConfig, build_manifest
from dhs_inject.priors import N_UNIFORMS, PriorConfig, draw_parameters, ellipticity_from_q_phi, read_cosmos_parametric
from dhs_inject.sampling import arc_snr_rejection, check_unique_task_ids, rejection_sample, row_uniforms, task_seeds
from dhs_inject.splits import SplitConfig, assign_splits, guard_band_keep, healpix_index, pixel_split

SHARED = Path(os.environ.get("DHS_SHARED", Path(__file__).resolve().parents[3] / ".." / "shared")).resolve() / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "dhs_upstream").is_dir(),
                                reason=f"shared data not found under {SHARED} (set DHS_SHARED to the shared folder)")
PARENT = SHARED / "dhs_upstream" / "lrg_parent" / "phase3_lrg_parent_catalog_total_lrg_v3.parquet"
COSMOS = SHARED / "galsim_cosmos_example" / "real_galaxy_catalog_23.5_example_fits.fits"


@pytest.fixture(scope="module")
def parent() -> pd.DataFrame:
    return read_lrg_catalogue(PARENT)


@pytest.fixture(scope="module")
def bricks(parent) -> pd.DataFrame:
    """A survey-bricks table for the parent's 44 real bricks (centres from their members, conditions drawn)."""
    g = parent.groupby("BRICKNAME")
    rng = np.random.default_rng(5)
    t = pd.DataFrame({"brickname": list(g.groups), "ra": g["RA"].mean().to_numpy(), "dec": g["DEC"].mean().to_numpy()})
    t["ra1"], t["ra2"], t["dec1"], t["dec2"] = t["ra"] - 0.13, t["ra"] + 0.13, t["dec"] - 0.13, t["dec"] + 0.13
    t["psfsize_r"] = rng.uniform(1.0, 1.6, len(t))
    t["psfsize_g"] = np.where(rng.random(len(t)) < 0.2, 0.0, 1.05 * t["psfsize_r"])   # some missing g
    t["psfsize_z"] = 0.94 * t["psfsize_r"]
    t["psfdepth_r"] = rng.uniform(300, 900, len(t))
    t["psfdepth_g"], t["psfdepth_z"], t["ebv"] = 2.5 * t["psfdepth_r"], 0.2 * t["psfdepth_r"], 0.05
    return t


# --- parent sample ---------------------------------------------------------------------------

@needs_shared
def test_lrg_selections_match_upstream_flags(parent):
    for v in ("v1", "v2", "v3", "v4"):
        np.testing.assert_array_equal(lrg_mask(parent, v), parent[f"is_lrg_{v}"].to_numpy())
    assert len(select_lrgs(parent, "v1")) == int(parent["is_lrg_v1"].sum()) < len(parent)
    with pytest.raises(ValueError, match=r"needs column\(s\) \['z_minus_w1'\]"):
        lrg_mask(parent.drop(columns="z_minus_w1"), "v2")
    with pytest.raises(ValueError, match="unknown LRG selection 'v9'"):
        lrg_mask(parent, "v9")


# --- splits ----------------------------------------------------------------------------------

def test_healpix_ring_convention_and_hash_splits():
    rng = np.random.default_rng(0)
    ra, dec = rng.uniform(0, 360, 2000), np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    pix = healpix_index(ra, dec, 32)
    np.testing.assert_array_equal(pix, hp.ang2pix(32, np.radians(90 - dec), np.radians(ra), nest=False))
    theta, phi = hp.pix2ang(32, pix)
    np.testing.assert_array_equal(healpix_index(np.degrees(phi), 90 - np.degrees(theta), 32), pix)
    every = pixel_split(np.arange(hp.nside2npix(32)), 13)
    frac = pd.Series(every).value_counts(normalize=True)
    for name, f in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        assert abs(frac[name] - f) < 4 * np.sqrt(f * (1 - f) / len(every))
    # a pixel's split does not depend on which pixels are in the sample, but does on the seed
    sub = rng.choice(hp.nside2npix(32), 300, replace=False)
    np.testing.assert_array_equal(pixel_split(sub, 13), every[sub])
    assert (pixel_split(sub, 14) != every[sub]).any()
    with pytest.raises(ValueError, match="sum to 1"):
        SplitConfig(fractions=(0.7, 0.2, 0.2))
    with pytest.raises(ValueError, match="power of two"):
        SplitConfig(nside=30)


def _min_dist_to_foreign(ra, dec, split, cfg):
    """Angular distance (deg) of each object to the nearest boundary point of a pixel of another split."""
    vec = hp.ang2vec(ra, dec, lonlat=True)
    out = np.empty(len(ra))
    for i, v in enumerate(vec):
        hood = hp.query_disc(cfg.nside, v, np.radians(cfg.guard_deg + 4.0), inclusive=True)
        foreign = hood[pixel_split(hood, cfg.seed, cfg.fractions) != split[i]]
        if hp.vec2pix(cfg.nside, *v) in foreign:
            out[i] = 0.0
            continue
        b = hp.boundaries(cfg.nside, foreign, step=16).transpose(0, 2, 1).reshape(-1, 3)
        out[i] = np.degrees(np.arccos(np.clip(b @ v, -1, 1)).min()) if len(b) else np.inf
    return out


def test_guard_band_keeps_only_objects_far_from_other_splits():
    rng = np.random.default_rng(1)
    n = 1500
    ra, dec = rng.uniform(20, 50, n), rng.uniform(-10, 10, n)
    cfg = SplitConfig(assign_by="object", guard_deg=0.5)
    res = assign_splits(ra, dec, cfg)
    d = _min_dist_to_foreign(ra, dec, res["split"].to_numpy(), cfg)
    keep = res["guard_ok"].to_numpy()
    assert 0.1 < keep.mean() < 0.9
    assert (d[keep] >= 0.5 - 1e-3).all()                      # no kept object within 0.5 deg of another split
    # not over-conservative: objects beyond guard + a pixel's size from every other split are kept
    assert keep[d > 0.5 + hp.max_pixrad(32, degrees=True)].all()
    # identical to the direct per-object query_disc rule
    for i in rng.choice(n, 200, replace=False):
        near = hp.query_disc(32, hp.ang2vec(ra[i], dec[i], lonlat=True), np.radians(0.5), inclusive=True)
        assert keep[i] == (pixel_split(near, cfg.seed) == res["split"].iloc[i]).all()
    # a subset of the objects gets the same splits and guard flags
    sub = rng.choice(n, 300, replace=False)
    res_sub = assign_splits(ra[sub], dec[sub], cfg)
    np.testing.assert_array_equal(res_sub["split"], res["split"].to_numpy()[sub])
    np.testing.assert_array_equal(res_sub["guard_ok"], keep[sub])
    assert guard_band_keep(ra, dec, res["split"], SplitConfig(guard_deg=0)).all()


def test_brick_rule_keeps_bricks_whole():
    rng = np.random.default_rng(2)
    centres_ra, centres_dec = rng.uniform(0, 40, 200), rng.uniform(-5, 5, 200)
    which = rng.integers(0, 200, 4000)
    ra = centres_ra[which] + rng.uniform(-0.125, 0.125, 4000)
    dec = centres_dec[which] + rng.uniform(-0.125, 0.125, 4000)
    res = assign_splits(ra, dec, SplitConfig(guard_deg=0.0), brick_ra_deg=centres_ra[which],
                        brick_dec_deg=centres_dec[which])
    assert (res.groupby(which)["split"].nunique() == 1).all()
    assert (res["healpix"] != res["split_healpix"]).any()      # some bricks straddle pixel boundaries
    with pytest.raises(ValueError, match="brick centres"):
        assign_splits(ra, dec, SplitConfig())


# --- grids and priors ------------------------------------------------------------------------

def test_named_grids():
    sizes = {"grid_small": 48, "grid_medium": 360, "grid_full": 3024, "grid_sota": 1008, "grid_small_v2": 180,
             "grid_sota_cli": 378}
    for name, n in sizes.items():
        g = build_grid(name)
        assert len(g) == n and g["config_id"].tolist() == list(range(n))
        assert not g.drop(columns="config_id").duplicated().any()
    small = build_grid("grid_small")
    assert sorted(small["theta_E"].unique()) == [0.3, 0.6, 1.0] and sorted(small["shear"].unique()) == [0.0, 0.03]
    v2 = build_grid("grid_small_v2")
    assert v2["src_e"].isna().all() and v2["theta_E"].nunique() * v2["src_dmag"].nunique() * v2["src_reff"].nunique() == 180
    with pytest.raises(ValueError, match=r"unknown grid 'grid_huge': valid grids are \['grid_full'"):
        build_grid("grid_huge")
    assert set(sizes) == set(grid_names())


def test_priors_follow_the_successor_distributions_and_lenstronomy_conventions():
    u = row_uniforms(np.arange(20000, dtype=np.uint64) * np.uint64(7919), N_UNIFORMS)
    p = draw_parameters(u)
    e1, e2 = phi_q2_ellipticity(p["lens_phi"].to_numpy(), p["lens_q"].to_numpy())
    np.testing.assert_allclose(p["lens_e1"], e1, atol=1e-12)
    np.testing.assert_allclose(p["lens_e2"], e2, atol=1e-12)
    e1, e2 = phi_q2_ellipticity(p["src_phi"].to_numpy(), p["src_q"].to_numpy())
    np.testing.assert_allclose(p["src_e1"], e1, atol=1e-12)
    a = 0.05
    assert stats.kstest(p["src_mag_r"], stats.uniform(23, 3).cdf).pvalue > a
    assert stats.kstest(p["src_n_sersic"], stats.uniform(0.5, 1.5).cdf).pvalue > a
    assert stats.kstest(p["src_R_sersic"], stats.uniform(0.15, 0.35).cdf).pvalue > a
    assert stats.kstest(p["src_gr"], stats.norm(1.15, 0.30).cdf).pvalue > a
    assert stats.kstest(p["src_rz"], stats.norm(0.85, 0.20).cdf).pvalue > a
    assert stats.kstest(p["shear_gamma1"], stats.norm(0, 0.05).cdf).pvalue > a
    assert stats.kstest(p["lens_center_x"], stats.norm(0, 0.05).cdf).pvalue > a
    # area-weighted source offset: (beta/theta_E)^2 uniform on [0.1^2, 0.4^2]
    b2 = (p["src_beta_arcsec"] / p["lens_theta_E"]) ** 2
    assert stats.kstest(b2, stats.uniform(0.01, 0.15).cdf).pvalue > a
    off = np.hypot(p["src_center_x"] - p["lens_center_x"], p["src_center_y"] - p["lens_center_y"])
    np.testing.assert_allclose(off, p["src_beta_arcsec"], atol=1e-12)
    np.testing.assert_allclose(p["src_flux_r"], 10 ** (-0.4 * (p["src_mag_r"] - 22.5)))
    np.testing.assert_allclose(p["src_flux_g"] / p["src_flux_r"], 10 ** (-0.4 * p["src_gr"]))
    # not tied to the host: the host magnitude changes nothing by default; host_dmag mode uses it
    q = draw_parameters(u[:50], src_dmag=np.full(50, 1.0), host_r_mag=np.full(50, 18.0))
    pd.testing.assert_frame_equal(q, p.iloc[:50])
    h = draw_parameters(u[:50], PriorConfig(source_mag="host_dmag"), src_dmag=np.full(50, 1.0), host_r_mag=np.full(50, 18.0))
    np.testing.assert_allclose(h["src_mag_r"], 19.0)
    # grid values override the priors; upstream e → q = (1-e)/(1+e)
    g = draw_parameters(u[:50], theta_E=np.full(50, 0.6), src_e=np.full(50, 0.3), shear=np.full(50, 0.03))
    np.testing.assert_allclose(g["lens_theta_E"], 0.6)
    np.testing.assert_allclose(np.hypot(g["shear_gamma1"], g["shear_gamma2"]), 0.03)
    np.testing.assert_allclose(np.hypot(g["src_e1"], g["src_e2"]), 0.3)
    assert ellipticity_from_q_phi(1.0, 0.3) == (0.0, 0.0)


@needs_shared
def test_cosmos_source_prior():
    bank = read_cosmos_parametric(COSMOS)
    assert 50 < len(bank) <= 100 and (bank["n_sersic"].between(0.3, 6.2)).all()
    assert bank["R_sersic_arcsec"].between(0.02, 5).all() and bank["mag"].between(15, 24).all()
    u = row_uniforms(np.arange(500, dtype=np.uint64), N_UNIFORMS)
    p = draw_parameters(u, PriorConfig(source_prior="cosmos", cosmos_path=str(COSMOS)))
    i = p["cosmos_index"].to_numpy()
    np.testing.assert_allclose(p["src_n_sersic"], bank["n_sersic"].to_numpy()[i])
    np.testing.assert_allclose(p["src_mag_r"], bank["mag"].to_numpy()[i])
    assert len(np.unique(i)) > 0.8 * len(bank)
    with pytest.raises(ValueError, match="cosmos_path"):
        PriorConfig(source_prior="cosmos")


# --- frozen randomness and rejection sampling ------------------------------------------------

def test_row_uniforms_are_splitmix64_and_per_row():
    # SplitMix64 reference: the first output of a stream seeded with 0 is 0xe220a8397b1dcdaf
    u = row_uniforms(np.array([0], np.uint64), 1)[0, 0]
    assert u == pytest.approx(((0xE220A8397B1DCDAF >> 11) + 0.5) / 2**53, rel=0, abs=0)
    seeds = task_seeds([hashlib.sha256(str(i).encode()).hexdigest() for i in range(3000)])
    big = row_uniforms(seeds, 8)
    np.testing.assert_array_equal(row_uniforms(seeds[::-1][:100], 8), big[::-1][:100])
    assert stats.kstest(big.ravel(), "uniform").pvalue > 0.01
    assert abs(np.corrcoef(big[:, 0], big[:, 1])[0, 1]) < 0.05


def test_rejection_sampling_reaches_loguniform_from_a_skewed_proposal():
    rng = np.random.default_rng(4)
    snr = rng.lognormal(np.log(7.0), 0.6, 60000)                  # mean ≈ 8.4, far from log-uniform
    res = arc_snr_rejection(snr, rng.random(len(snr)), snr_range=(2.0, 50.0), n_bins=25)
    acc = snr[res.accepted]
    assert 0.005 < res.acceptance_rate < 0.5 and res.target_coverage == 1.0
    lo, hi = 2.0, 50.0
    target_cdf = lambda s: np.log(np.clip(s, lo, hi) / lo) / np.log(hi / lo)  # noqa: E731
    assert stats.kstest(acc, target_cdf).pvalue > 0.01
    assert stats.kstest(snr[(snr >= lo) & (snr <= hi)], target_cdf).pvalue < 1e-6   # the proposal is not
    frame = pd.DataFrame({"arc_snr": snr[:2000], "u": rng.random(2000)})
    kept, rate = rejection_sample(frame, uniform_column="u")
    assert len(kept) == round(rate * 2000) and kept["arc_snr"].between(2, 50).all()
    with pytest.raises(ValueError, match="no proposal"):
        arc_snr_rejection(np.array([1.0]), np.array([0.5]))


# --- manifest --------------------------------------------------------------------------------

STORE_COLUMNS = ("task_id", "lrg_id", "brickname", "ra_deg", "dec_deg", "healpix", "split", "label", "pairing",
                 "replicate", "tier", "grid", "config_id", "psfsize_g", "psfsize_r", "psfsize_z", "psfdepth_g",
                 "psfdepth_r", "psfdepth_z", "ebv", "psf_bin", "depth_bin", "lens_model", "lens_theta_E", "lens_e1",
                 "lens_e2", "lens_center_x", "lens_center_y", "shear_gamma1", "shear_gamma2", "source_model",
                 "src_R_sersic", "src_n_sersic", "src_e1", "src_e2", "src_center_x", "src_center_y", "src_mag_r",
                 "src_flux_g", "src_flux_r", "src_flux_z", "psf_model", "psf_fwhm_g", "psf_fwhm_r", "psf_fwhm_z",
                 "psf_beta", "oversampling", "arc_noise", "core_mask_radius_pix", "bandset")


@needs_shared
def test_manifest_design_controls_and_frozen_randomness(parent, bricks):
    cfg = ManifestConfig(tier="train", grid="grid_small", replicates=2, control_fraction=0.5,
                         splits=SplitConfig(guard_deg=0.0))
    m = build_manifest(parent, bricks, cfg)
    assert set(STORE_COLUMNS) <= set(m.columns) and list(m.columns) == list(MANIFEST_COLUMNS)
    check_unique_task_ids(m)
    inj, ctrl = m[m["label"] == 1], m[m["label"] == 0]
    assert (inj["pairing"] == "paired").all() and (ctrl["pairing"] == "unpaired").all()
    assert (ctrl["lens_model"] == "CONTROL").all() and (ctrl["lens_theta_E"] == 0).all() and (ctrl["src_flux_r"] == 0).all()
    assert (inj["lens_model"] == "SIE").all() and set(inj["lens_theta_E"].unique()) == {0.3, 0.6, 1.0}
    # one LRG never in two splits; replicates share lrg_id with different task ids and draws
    assert (m.groupby("lrg_id")["split"].nunique() == 1).all()
    reps = inj.groupby("lrg_id")["replicate"].nunique()
    assert (reps == 2).all()
    two = inj[inj["lrg_id"] == reps.index[0]]
    assert two["task_id"].nunique() == 2 and two["src_mag_r"].nunique() == 2
    # unpaired controls: LRG-disjoint from injected hosts within each split, matched in psf x depth cells
    for split, grp in m.groupby("split"):
        assert not set(grp.loc[grp["label"] == 1, "lrg_id"]) & set(grp.loc[grp["label"] == 0, "lrg_id"])
    n_inj = inj.groupby(["split", "cell", "replicate"]).size()
    n_ctl = ctrl.groupby(["split", "cell", "replicate"]).size().reindex(n_inj.index, fill_value=0)
    short = m.attrs["control_shortfall"]
    for key, n in n_inj.items():
        if f"{key[0]}/cell{key[1]}/rep{key[2]}" not in short:
            assert n_ctl[key] == n
    assert set(ctrl["cell"]) <= set(inj["cell"])
    # 16 cells from brick quantiles; g PSF falls back to r where the table has none
    assert m["psf_bin"].between(0, 3).all() and m["cell"].nunique() > 8
    assert np.allclose(m["psf_fwhm_g"][m["psfsize_g"] == m["psfsize_r"]], m["psf_fwhm_r"][m["psfsize_g"] == m["psfsize_r"]])
    assert (m["psf_fwhm_g"] > 0).all()
    # frozen randomness: a subset of the catalogue gives the same rows their same parameters
    sub = build_manifest(parent.iloc[::3], bricks, cfg)
    common = sub.merge(m, on="task_id", suffixes=("", "_all"))
    assert len(common) > 100
    for col in ("lens_theta_E", "lens_e1", "src_center_x", "src_mag_r", "shear_gamma2", "u_accept"):
        np.testing.assert_array_equal(common[col].to_numpy(), common[f"{col}_all"].to_numpy())


@needs_shared
def test_manifest_tiers_paired_only_errors_and_speed(parent, bricks):
    import time
    t = time.perf_counter()
    big = build_manifest(parent.iloc[::3], bricks, ManifestConfig(tier="grid", grid="grid_small", replicates=1, controls="paired",
                                                       splits=SplitConfig(guard_deg=0.0)))
    elapsed = time.perf_counter() - t
    assert len(big) > 95_000 and (big["label"] == 1).all() and (big["pairing"] == "paired").all()
    assert elapsed < 30                                       # ~1-3 s on 2 cores; generous for a shared box
    assert (big.groupby("lrg_id")["config_id"].nunique() == 48).all()
    dbg = build_manifest(parent, bricks, ManifestConfig(tier="debug", replicates=1, controls="paired",
                                                       splits=SplitConfig(guard_deg=0.0)))
    per = dbg.groupby(["split", "config_id"]).size()
    assert (per == 5).all()
    guard = build_manifest(parent, bricks, ManifestConfig(tier="debug", replicates=1))
    assert guard.attrs["n_guard_dropped"] > 0
    dup = pd.concat([dbg, dbg.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError, match=f"duplicate task_id '{dbg['task_id'].iloc[3]}'"):
        check_unique_task_ids(dup)
    with pytest.raises(ValueError, match="unknown grid 'grid_nope'"):
        ManifestConfig(grid="grid_nope")
    with pytest.raises(ValueError, match="extra"):
        ManifestConfig(tiers="debug")
    with pytest.raises(ValueError, match="unknown brick '0347m150'"):
        build_manifest(parent, bricks[bricks["brickname"] != "0347m150"], ManifestConfig())
    with pytest.raises(ValueError, match="missing column 'BRICKNAME'"):
        build_manifest(parent.drop(columns="BRICKNAME"), bricks, ManifestConfig())
