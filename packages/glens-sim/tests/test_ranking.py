"""Catalogue-level candidate ranking from DAPall/DRPall tables (FITS and CSV)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from astropy.io import fits
from astropy.table import Table

from glens_sim.maps_io import DR17_EMLINE_CHANNELS
from glens_sim.ranking import RankingConfig, rank_candidates, read_dapall, read_drpall
from glens_sim.synthetic import make_synthetic_sample

HA, NII = 23, 24


def _tables(n=12, seed=0):
    rng = np.random.default_rng(seed)
    plateifu = [f"{8000 + i}-{12701 + i % 5}" for i in range(n)]
    flux = rng.uniform(10, 1000, (n, 35))
    drp = pd.DataFrame({
        "plateifu": plateifu, "nsa_z": rng.uniform(0.01, 0.05, n),
        "nsa_elpetro_ba": rng.uniform(0.2, 0.99, n), "nsa_elpetro_th50_r": rng.uniform(1.0, 12.0, n),
    })  # fmt: skip
    order = rng.permutation(n)  # DRPall in another order: DRPALLINDX must do the join
    drp_shuffled = drp.iloc[order].reset_index(drop=True)
    where = {p: i for i, p in enumerate(drp_shuffled["plateifu"])}
    dap = pd.DataFrame({
        "PLATEIFU": plateifu, "MANGAID": [f"1-{i}" for i in range(n)],
        "DAPTYPE": "HYB10-MILESHC-MASTARHC2", "DAPDONE": 1,
        "DAPQUAL": [0] * (n - 1) + [2], "DRPALLINDX": [where[p] for p in plateifu],
        "HA_GSIGMA_1RE": rng.uniform(5, 80, n), "STELLAR_SIGMA_1RE": rng.uniform(40, 200, n),
        "EMLINE_GFLUX_1RE": list(flux),
    })  # fmt: skip
    return dap, drp_shuffled, drp, flux


def _expected(dap, drp_in_dap_order, flux_col):
    """Independent re-computation of the spec §2.1 score (scipy IQR, numpy median)."""
    ba = drp_in_dap_order["nsa_elpetro_ba"].to_numpy()
    reff = drp_in_dap_order["nsa_elpetro_th50_r"].to_numpy()
    sig = dap["HA_GSIGMA_1RE"].to_numpy()
    keep = (dap["DAPQUAL"] == 0) & (ba > 0.3) & (ba < 0.9) & (sig > 10) & (reff > 2) & (flux_col > 0)
    keep = keep.to_numpy()

    def z(v):
        return (v - np.median(v)) / scipy.stats.iqr(v)

    inc = np.degrees(np.arccos(ba[keep]))
    score = z(np.log10(flux_col[keep])) - 0.7 * ((inc - 55) / 20) ** 2 + 0.5 * z(np.log10(np.maximum(sig[keep], 5)))
    return pd.Series(score, index=dap["PLATEIFU"][keep]).sort_values(ascending=False)


def test_rank_matches_independent_score():
    dap, drp_shuffled, drp, flux = _tables()
    ranked = rank_candidates(dap, drp_shuffled)
    exp = _expected(dap, drp, flux[:, HA])
    assert list(ranked["plateifu"]) == list(exp.index)
    np.testing.assert_allclose(ranked["rank_score"], exp.to_numpy(), rtol=1e-12)
    assert (ranked["flux_line"] == "Ha-6564").all()
    assert ranked["maps_url"][0].endswith(f"manga-{ranked['plateifu'][0]}-MAPS-HYB10-MILESHC-MASTARHC2.fits.gz")


def test_legacy_index_reads_nii():
    dap, drp_shuffled, drp, flux = _tables()
    ranked = rank_candidates(dap, drp_shuffled, RankingConfig(legacy_channel_index=24))
    exp = _expected(dap, drp, flux[:, NII])
    assert list(ranked["plateifu"]) == list(exp.index)
    assert (ranked["flux_line"] == "NII-6585").all()


def test_fits_channel_names_from_elg_keywords(tmp_path):
    dap, drp_shuffled, drp, flux = _tables()
    channels = list(DR17_EMLINE_CHANNELS[-5:] + DR17_EMLINE_CHANNELS[:-5])  # Hα at index 28
    t = Table({c: np.stack(dap[c]) if c == "EMLINE_GFLUX_1RE" else np.asarray(dap[c].tolist()) for c in dap})
    hdu = fits.BinTableHDU(t, name="HYB10-MILESHC-MASTARHC2")
    for i, name in enumerate(channels, start=1):
        hdu.header[f"ELG{i:02d}"] = name
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table({"X": [1]}), name="OTHER"), hdu]).writeto(tmp_path / "dapall.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table.from_pandas(drp_shuffled.astype({"plateifu": str})), name="MANGA")]).writeto(tmp_path / "drpall.fits")
    d = read_dapall(tmp_path / "dapall.fits")
    assert d.attrs["emline_channels"] == channels
    ranked = rank_candidates(d, read_drpall(tmp_path / "drpall.fits"))
    exp = _expected(dap, drp, flux[:, 28])
    assert list(ranked["plateifu"]) == list(exp.index)


def test_csv_flat_and_vector_columns(tmp_path):
    dap, drp_shuffled, drp, flux = _tables()
    flat = dap.drop(columns="EMLINE_GFLUX_1RE").assign(emline_gflux_1re_ha_6564=flux[:, HA])
    flat.columns = [c.lower() for c in flat.columns]  # CasJobs exports are lower case
    flat.to_csv(tmp_path / "dapall.csv", index=False)
    drp_shuffled.to_csv(tmp_path / "drpall.csv", index=False)
    exp = _expected(dap, drp, flux[:, HA])
    r1 = rank_candidates(read_dapall(tmp_path / "dapall.csv"), read_drpall(tmp_path / "drpall.csv"))
    assert list(r1["plateifu"]) == list(exp.index)
    vec = dap.assign(EMLINE_GFLUX_1RE=[str(row.tolist()) for row in flux])
    vec.to_csv(tmp_path / "dapall2.csv", index=False)
    r2 = rank_candidates(read_dapall(tmp_path / "dapall2.csv"), drp_shuffled)
    np.testing.assert_allclose(r2["rank_score"], exp.to_numpy(), rtol=1e-9)


def test_join_by_plateifu_and_errors():
    dap, drp_shuffled, drp, flux = _tables()
    by_name = rank_candidates(dap.drop(columns="DRPALLINDX"), drp_shuffled)
    assert list(by_name["plateifu"]) == list(_expected(dap, drp, flux[:, HA]).index)
    with pytest.raises(ValueError, match="DRPALLINDX"):
        rank_candidates(dap.assign(DRPALLINDX=99), drp_shuffled)
    with pytest.raises(KeyError, match="nsa_elpetro_ba"):
        rank_candidates(dap, drp_shuffled.drop(columns="nsa_elpetro_ba"))
    with pytest.raises(KeyError, match="Hx-1"):
        rank_candidates(dap, drp_shuffled, RankingConfig(line="Hx-1"))
    top = rank_candidates(dap, drp_shuffled, RankingConfig(top_n=2))
    assert len(top) == 2


def test_synthetic_catalogue_round_trip(tmp_path):
    make_synthetic_sample(tmp_path, n=5, seed=2, progress=False)
    ranked = rank_candidates(read_dapall(tmp_path / "dapall-synthetic.fits"), read_drpall(tmp_path / "drpall-synthetic.fits"))
    truth = pd.read_csv(tmp_path / "synthetic-galaxies.csv")
    # the two decoys (DAPQUAL != 0, face-on) are cut; every synthetic MAPS galaxy survives
    assert set(ranked["plateifu"]) == set(truth["plateifu"])
    merged = ranked.merge(truth, on="plateifu")
    np.testing.assert_allclose(merged["ba_x"], merged["ba_y"], rtol=1e-12)
    np.testing.assert_allclose(merged["reff_x"], merged["reff_y"], rtol=1e-12)
