"""3D runner (spec §7, §10): compat reproduction of the 32³ reference runs, ablations, corrected mode with
working precomputed features, external field and permutation."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rs_ilg.features import read_features
from rs_ilg.master import subset_names
from rs_ilg.modes import ModeConfig
from rs_ilg.runners import GridRunConfig, feature_permutation, run_grid

COMPAT = ModeConfig.compat()


@pytest.mark.parametrize("run,aniso,limit", [("ilg3d_sparc", False, 20), ("ilg3d_sparc_aniso", True, 12)])
def test_reproduces_reference_3d_32(master_compat, names156, reference_dir, run, aniso, limit):
    res = run_grid(master_compat, COMPAT, GridRunConfig.run3d(anisotropic=aniso, solver="original"), subset=names156,
                   limit=limit, progress=False)
    ref = pd.read_csv(reference_dir / run / "summary.csv")
    got = res.summary
    assert list(got.galaxy) == list(ref.galaxy)
    assert np.array_equal(got.N.to_numpy(), ref.N.to_numpy())
    np.testing.assert_allclose(got.chi2_over_N, ref.chi2_over_N, rtol=1e-5, atol=0)
    assert (got.cg_iterations == 400).all()  # the original's cap, reached every time
    for name in ("CamB", "DDO154", "F563-1"):
        pts = res.galaxies[name].points
        rp = pd.read_csv(reference_dir / run / f"{name}_3d_proxy.csv")
        np.testing.assert_allclose(pts.r_kpc, rp.r_kpc)  # same in-box points
        np.testing.assert_allclose(pts.K_ring, rp.K_ring, rtol=1e-5, equal_nan=True)


@pytest.fixture(scope="module")
def ablation_names(names156):
    return names156[:4]


@pytest.fixture(scope="module")
def base3d(master_compat, ablation_names):
    return run_grid(master_compat, COMPAT, GridRunConfig.run3d(anisotropic=True), subset=ablation_names,
                    progress=False).summary


def _run(master, names, mode=COMPAT, features_root=None, **kw):
    features = None if features_root is None else read_features(features_root, names)
    return run_grid(master, mode, GridRunConfig.run3d(anisotropic=True, **kw), subset=names, progress=False,
                    features=features).summary


def test_compat_features_gext_and_permutation_are_noops(master_compat, ablation_names, base3d, reference_dir):
    """The original's dead features loader (spec §7.6), reproduced as the named quirk features_loader='dead'."""
    feats = str(reference_dir / "rs_features")
    for kw in (dict(features_root=feats), dict(features_root=feats, permute_features=True),
               dict(features_root=feats, gext0=True)):
        s = _run(master_compat, ablation_names, **kw)
        assert np.array_equal(s.chi2_over_N.to_numpy(), base3d.chi2_over_N.to_numpy()), kw
        assert s.features_from.isna().all()
    # g_ext added as an SI number (~1e-11) to g/g_max: no real effect (spec §12.10)
    s = _run(master_compat, ablation_names, gext_ratio=0.05)
    np.testing.assert_allclose(s.chi2_over_N, base3d.chi2_over_N, rtol=1e-9)


def test_compat_ablations_act_as_in_the_original(master_compat, ablation_names, base3d):
    k1 = _run(master_compat, ablation_names, k1_null=True)
    np.testing.assert_allclose(k1.chi2_over_N, base3d.chi2_over_N_newton, rtol=1e-12)
    di = _run(master_compat, ablation_names, d_identity=True)
    assert np.max(np.abs(di.chi2_over_N / base3d.chi2_over_N - 1)) < 1e-3  # spec §10: <= 7e-4 effect
    assert not np.array_equal(di.chi2_over_N.to_numpy(), base3d.chi2_over_N.to_numpy())
    cs = _run(master_compat, ablation_names, const_sigma=True)
    assert (cs.chi2_over_N > base3d.chi2_over_N).all()
    nm = _run(master_compat, ablation_names, no_inner_mask=True)
    assert (nm.N >= base3d.N).all()


def test_batched_solve_equals_single(master_compat, ablation_names):
    mode = replace(COMPAT, cg_stop="relative_initial", cg_max_iter_3d=None, cg_max_iter_y1_3d=None, cg_tol=1e-10)
    single = _run(master_compat, ablation_names, mode=mode)
    batched = _run(master_compat, ablation_names, mode=mode, batch_size=4)
    f32 = _run(master_compat, ablation_names, mode=replace(mode, cg_tol=1e-5), batch_size=4, solver_dtype="float32")
    np.testing.assert_allclose(batched.chi2_over_N, single.chi2_over_N, rtol=1e-9)
    np.testing.assert_allclose(f32.chi2_over_N, single.chi2_over_N, rtol=1e-5)
    assert (single.cg_iterations < 30).all() and (batched.cg_rel_residual <= 1e-10).all()


def test_parallel_jobs_equal_serial(master_compat, ablation_names, base3d):
    par = _run(master_compat, ablation_names, n_jobs=2)
    np.testing.assert_array_equal(par.chi2_over_N.to_numpy(), base3d.chi2_over_N.to_numpy())
    assert list(par.galaxy) == list(base3d.galaxy)


@pytest.fixture(scope="module")
def corrected_names(master_corrected):
    return subset_names(master_corrected, ModeConfig.corrected())[:4]


def test_corrected_features_path_works(master_corrected, corrected_names, reference_dir):
    mode = ModeConfig.corrected()
    feats = str(reference_dir / "rs_features")
    base = _run(master_corrected, corrected_names, mode=mode)
    withf = _run(master_corrected, corrected_names, mode=mode, features_root=feats)
    assert list(withf.features_from) == corrected_names
    assert not np.allclose(withf.chi2_over_N, base.chi2_over_N, rtol=1e-7, atol=0)
    perm = _run(master_corrected, corrected_names, mode=mode, features_root=feats, permute_features=True)
    mapping = feature_permutation(corrected_names, 42)
    assert list(perm.features_from) == [mapping[n] for n in corrected_names]
    assert (base.cg_rel_residual <= 1e-8).all()


def test_corrected_external_field_from_features(master_corrected, corrected_names, reference_dir, tmp_path):
    """g_ext from features.json reaches the kernel; --ablate_gext0 removes it."""
    mode = ModeConfig.corrected()
    root = tmp_path / "feats"
    for n in corrected_names:
        src = reference_dir / "rs_features" / n
        (root / n).mkdir(parents=True)
        (root / n / "fields.npz").write_bytes((src / "fields.npz").read_bytes())
        meta = json.loads((src / "features.json").read_text())
        meta["g_ext_SI"] = 0.2 * 1.2e-10
        (root / n / "features.json").write_text(json.dumps(meta))
    plain = _run(master_corrected, corrected_names, mode=mode, features_root=str(reference_dir / "rs_features"))
    ext = _run(master_corrected, corrected_names, mode=mode, features_root=str(root))
    g0 = _run(master_corrected, corrected_names, mode=mode, features_root=str(root), gext0=True)
    assert (ext.K_minus_1_max < plain.K_minus_1_max).all()
    np.testing.assert_allclose(g0.chi2_over_N, plain.chi2_over_N, rtol=1e-12)


def test_configured_external_field_overrides_features(master_corrected, corrected_names, reference_dir):
    """gext_ratio > 0 wins over the features' g_ext_SI (0 here), so the g_ext = 0 ablation acts."""
    mode = ModeConfig.corrected()
    feats = str(reference_dir / "rs_features")
    plain = _run(master_corrected, corrected_names, mode=mode, features_root=feats)
    ext = _run(master_corrected, corrected_names, mode=mode, features_root=feats, gext_ratio=0.2)
    g0 = _run(master_corrected, corrected_names, mode=mode, features_root=feats, gext_ratio=0.2, gext0=True)
    assert (ext.K_minus_1_max < plain.K_minus_1_max).all()
    np.testing.assert_allclose(g0.chi2_over_N, plain.chi2_over_N, rtol=1e-12)


def test_missing_features_raise_naming_the_path(master_corrected, corrected_names, tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        _run(master_corrected, corrected_names[:1], mode=ModeConfig.corrected(), features_root=str(tmp_path))
