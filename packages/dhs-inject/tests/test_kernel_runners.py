"""The kernel and its runners: paired rows, controls, resume without duplicates or gaps, identical rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dhs_inject import runners, store
from dhs_inject.bricks import brick_file
from dhs_inject.kernel import InjectConfig, KernelError, inject_batches, inject_frame
from dhs_inject.metrics import radius_pix

CFG = InjectConfig(batch_rows=8)


@pytest.fixture(scope="module")
def survey(inject_survey):
    return inject_survey


@pytest.fixture(scope="module")
def manifest(inject_manifest) -> pd.DataFrame:
    return inject_manifest


@pytest.fixture(scope="module")
def rows(manifest, survey) -> pd.DataFrame:
    return inject_frame(manifest, cfg=CFG, bricks=survey.root)


def test_kernel_pairs_and_controls(rows: pd.DataFrame) -> None:
    inj, ctrl = rows[rows.label == 1], rows[rows.label == 0]
    for row in inj.itertuples():
        assert row.stamp.shape == (3, 64, 64) and row.stamp.dtype == np.float32
        arc = row.stamp - row.ctrl_stamp  # stamp − control is exactly the (noiseless) arc
        assert arc.sum() == pytest.approx(row.arc_flux_g + row.arc_flux_r + row.arc_flux_z, rel=1e-4)
        assert row.magnification > 1 and row.physics_valid
    assert ctrl["ctrl_stamp"].isna().all() and ctrl["arc_snr"].isna().all() and ctrl["physics_valid"].isna().all()
    assert rows["cutout_ok"].all() and (rows["invvar"].map(lambda a: a.shape) == (3, 64, 64)).all()
    # the matched-filter SNR is never below the peak-pixel SNR
    assert (inj["arc_snr"] >= inj["arc_peak_snr"] - 1e-9).all()


def test_arc_noise_and_core_mask(manifest, survey, rows) -> None:
    cfg = InjectConfig(batch_rows=8, arc_noise=True, core_mask_radius_pix=4.0)
    inj = manifest[manifest.label == 1].head(3)
    noisy = inject_frame(inj, cfg=cfg, bricks=survey.root)
    again = inject_frame(inj, cfg=cfg, bricks=survey.root)
    for a, b, clean in zip(noisy.itertuples(), again.itertuples(), rows.head(3).itertuples(), strict=True):
        arc = a.stamp - a.ctrl_stamp
        assert np.array_equal(a.stamp, b.stamp)  # frozen per-task noise
        assert np.abs(arc[:, radius_pix((64, 64)) < 4.0]).max() == 0  # r < 4 px is masked
        assert not np.allclose(arc, clean.stamp - clean.ctrl_stamp)
        assert (a.invvar <= clean.invvar + 1e-6).all()  # the arc's shot noise lowers the inverse variance
    assert noisy["arc_noise"].all()


def test_bad_input_names_the_culprit(manifest, survey, tmp_path: Path) -> None:
    with pytest.raises(KernelError, match=f"duplicate task_id.*{manifest.task_id[1]}"):
        runners.plan_parts(pd.concat([manifest, manifest.iloc[[1]]]), CFG)
    bad = manifest.copy()
    bad.loc[2, "lens_theta_E"] = np.nan
    with pytest.raises(KernelError, match=f"lens_theta_E.*{manifest.task_id[2]}"):
        next(inject_batches(iter([bad]), cfg=CFG, bricks=survey.root))
    off = manifest.head(1).copy()
    off["ra_deg"] += 1.0  # an LRG off its brick
    with pytest.raises(ValueError, match=f"off brick '{off.brickname[0]}'"):
        inject_frame(off, cfg=CFG, bricks=survey.root)
    # a brick missing a band
    import shutil

    copy = tmp_path / "survey"
    shutil.copytree(survey.root, copy)
    brick_file(copy, manifest.brickname[0], "image", "z").unlink()
    with pytest.raises(FileNotFoundError, match=f"brick '{manifest.brickname[0]}' is missing band 'z'"):
        inject_frame(manifest.head(1), cfg=CFG, bricks=copy)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("task_id").reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = _sorted(a), _sorted(b)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        if col in store.TENSOR_COLUMNS:
            assert all((x is None and y is None) or np.array_equal(x, y) for x, y in zip(a[col], b[col], strict=True)), col
        else:
            pd.testing.assert_series_equal(a[col], b[col], check_names=False)


def test_killed_run_resumes_without_duplicates_or_gaps(manifest, survey, tmp_path: Path) -> None:
    clean = runners.run_local(manifest, tmp_path / "clean", cfg=CFG, bricks=survey.root, workers=1, part_rows=3,
                              progress=False)  # fmt: skip
    assert clean.rows == len(manifest) and not clean.skipped

    class Killed(RuntimeError):
        pass

    written = []

    def kill_after_two(name: str) -> None:
        written.append(name)
        if len(written) == 2:
            raise Killed

    with pytest.raises(Killed):
        runners.run_local(manifest, tmp_path / "resumed", cfg=CFG, bricks=survey.root, workers=1, part_rows=3,
                          progress=False, on_part=kill_after_two)  # fmt: skip
    assert len(store.part_paths(tmp_path / "resumed")) == 2
    # a SIGKILL inside write_part leaves its temporary file; the next run removes it unless its writer still lives
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = store.part_paths(tmp_path / "resumed")[0].parent
    stale = folder / f".part-x.parquet.{dead.pid}.0badc0de.tmp"
    live = folder / f".part-y.parquet.{os.getpid()}.0badc0de.tmp"
    stale.write_bytes(b"partial")
    live.write_bytes(b"in progress")
    again = runners.run_local(manifest, tmp_path / "resumed", cfg=CFG, bricks=survey.root, workers=1, part_rows=3,
                              progress=False)  # fmt: skip
    assert len(again.skipped) == 2 and len(again.written) == len(clean.written) - 2
    assert not stale.exists() and stale.name in again.removed
    assert live.exists()
    live.unlink()
    report = store.verify_store(tmp_path / "resumed", manifest)
    assert report["ok"], report["problems"]
    _assert_same(store.read_store(tmp_path / "clean"), store.read_store(tmp_path / "resumed"))


def test_local_processes_dask_and_spark_udf_give_identical_rows(manifest, survey, tmp_path: Path) -> None:
    serial = runners.run_local(manifest, tmp_path / "serial", cfg=CFG, bricks=survey.root, workers=1, part_rows=4,
                               progress=False)  # fmt: skip
    runners.run_local(manifest, tmp_path / "pool", cfg=CFG, bricks=survey.root, workers=2, part_rows=4, progress=False)
    runners.run_dask(manifest, tmp_path / "dask", cfg=CFG, bricks=survey.root, n_workers=2, processes=False,
                     part_rows=4, progress=False)  # fmt: skip
    reference = store.read_store(tmp_path / "serial")
    assert len(reference) == serial.rows == len(manifest)
    _assert_same(reference, store.read_store(tmp_path / "pool"))
    _assert_same(reference, store.read_store(tmp_path / "dask"))
    # Spark's mapInPandas calls the kernel on an iterator of batches: same rows as the parts
    spark_fn = runners.spark_udf(CFG, survey.root)
    parts = runners.plan_parts(manifest, CFG, part_rows=4)
    via_spark = pd.concat(list(spark_fn(iter(p.rows for p in parts))), ignore_index=True)
    for col in store.TENSOR_COLUMNS:  # Spark carries the (C, H, W) cells as npz blobs
        via_spark[col] = [store.from_npz_blob(b) for b in via_spark.pop(f"{col}_npz")]
    _assert_same(reference.drop(columns="split"), via_spark.drop(columns="split")[reference.columns[1:]])
