"""The ``rs-ilg`` command line: original-style options, output layout, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rs_ilg.cli import build_parser, main
from rs_ilg.mock import write_mock_sparc


def test_bench1d_real_sparc_reproduces_reference(sparc_dir, reference_dir, tmp_path):
    out = tmp_path / "o"
    subset = reference_dir / "pure_global_eval" / "bench_rs_per_galaxy.csv"
    rc = main(["bench1d", "--rotmod-dir", str(sparc_dir / "Rotmod_LTG"), "--mode", "compat", "--subset_csv",
               str(subset), "--kernel", "accel", "--ml_disk", "1.0", "--assert_n", "156", "--out-dir", str(out),
               "--out", str(tmp_path / "orig.csv"), "--no-progress"])  # fmt: skip
    assert rc == 0
    got = pd.read_csv(out / "summary.csv")
    assert list(got.columns) == ["galaxy", "N", "chi2_over_N"]
    ref = pd.read_csv(reference_dir / "rotation_benchmark_1d" / "ilg_rotation_benchmark_accel_q1.csv")
    assert got["galaxy"].tolist() == ref["galaxy"].tolist()
    np.testing.assert_array_equal(got["N"], ref["N"])
    np.testing.assert_allclose(got["chi2_over_N"], ref["chi2_over_N"], rtol=1e-6)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "orig.csv"), got)
    assert len(list(out.glob("*_1d_accel.csv"))) == 156
    base = pd.read_csv(out / "baselines.csv")
    assert list(base.columns) == ["galaxy", "N", "chi2_over_N", "chi2_over_N_newton", "chi2_over_N_mond"]
    per = pd.read_csv(out / "NGC3198_1d_accel.csv")
    assert {"r_kpc", "v_obs", "v_err", "v_baryon", "w", "v_model", "v_newton", "v_mond", "evaluated"} <= set(per.columns)
    assert (out / "run.json").is_file() and not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("cmd", ["bench1d", "mond", "pure-global"])
def test_commands_on_mock(tmp_path, cmd):
    out = tmp_path / cmd
    assert main([cmd, "--mock", "12", "--mode", "corrected", "--out-dir", str(out), "--no-progress"]) == 0
    s = pd.read_csv(out / "summary.csv")
    assert len(s) > 0 and s["chi2_over_N"].notna().all()
    if cmd == "pure-global":
        assert (out / "bench_rs_per_galaxy.csv").is_file() and (out / "class_summary_FULL.csv").is_file()


def test_bad_rotmod_is_reported_and_leaves_no_output(tmp_path, capsys):
    rot_dir, table = write_mock_sparc(tmp_path / "in", 6, 0)
    f = rot_dir / "MOCK002_rotmod.dat"
    lines = f.read_text().splitlines()
    lines[5] = lines[5].replace("\t", "\tabc", 1)
    f.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    rc = main(["mond", "--rotmod-dir", str(rot_dir), "--table", str(table), "--out-dir", str(out), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{f}:6" in err and "is not a number" in err
    assert not out.exists() or not any(out.iterdir())


def test_missing_galaxy_error_or_recorded_skip(tmp_path, capsys):
    rot_dir, table = write_mock_sparc(tmp_path / "in", 6, 0)
    text = table.read_text().splitlines()
    table.write_text("\n".join(ln for ln in text if not ln.strip().startswith("MOCK003")) + "\n")
    args = ["bench1d", "--rotmod-dir", str(rot_dir), "--table", str(table), "--mode", "corrected", "--subset", "all",
            "--no-progress"]  # fmt: skip
    assert main([*args, "--out-dir", str(tmp_path / "a")]) == 2
    assert "'MOCK003'" in capsys.readouterr().err
    assert main([*args, "--on-missing", "skip", "--out-dir", str(tmp_path / "b")]) == 0
    sk = pd.read_csv(tmp_path / "b" / "skipped.csv")
    assert "MOCK003" in sk["galaxy"].tolist()
    assert "MOCK003" not in pd.read_csv(tmp_path / "b" / "summary.csv")["galaxy"].tolist()


def test_zero_error_rows_drop_is_recorded(tmp_path):
    rot_dir, table = write_mock_sparc(tmp_path / "in", 6, 0)
    f = rot_dir / "MOCK001_rotmod.dat"
    lines = f.read_text().splitlines()
    parts = lines[4].split("\t")
    parts[2] = "0.00"
    lines[4] = "\t".join(parts)
    f.write_text("\n".join(lines) + "\n")
    base = ["mond", "--rotmod-dir", str(rot_dir), "--subset", "all", "--no-progress"]
    assert main([*base, "--out-dir", str(tmp_path / "a")]) == 2
    assert main([*base, "--bad-rows", "drop", "--out-dir", str(tmp_path / "b")]) == 0
    sk = pd.read_csv(tmp_path / "b" / "skipped.csv")
    assert any(("line 5" in r and "errV = 0" in r) for r in sk["reason"])


def test_parser_accepts_original_spellings():
    p = build_parser()
    a = p.parse_args(["bench1d", "--rotmod_dir", "d", "--subset_csv", "s.csv", "--ml_disk", "0.8", "--kernel",
                      "graph", "--gext_ratio", "0.02", "--xi_thresholds_in", "t.json", "--out_dir", "o"])  # fmt: skip
    assert (a.rotmod_dir, a.subset_csv, a.ml_disk, a.gext_ratio, a.xi_thresholds_in, a.out_dir) == (
        "d", "s.csv", 0.8, 0.02, "t.json", "o")


def test_entry_point_help():
    exe = shutil.which("rs-ilg", path=str(__import__("pathlib").Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "rs_ilg.cli"]
    r = subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=True)
    assert "bench1d" in r.stdout and "mond" in r.stdout


def test_run3d_writes_each_galaxy_when_done_and_a_rerun_skips_what_is_complete(tmp_path, capsys):
    out = tmp_path / "o"
    base = ["run3d", "--mock", "8", "--subset", "all", "--nx", "16", "--jobs", "1", "--out-dir", str(out), "--no-progress"]
    assert main([*base, "--limit", "3"]) == 0
    first = pd.read_csv(out / "run_details.csv")
    assert len(first) == 3 and all((out / f"{g}_3d_proxy.json").is_file() for g in first.galaxy)
    stamp = {g: (out / f"{g}_3d_proxy.csv").stat().st_mtime_ns for g in first.galaxy}
    capsys.readouterr()
    assert main([*base, "--limit", "5"]) == 0
    assert "3 galaxies already complete" in capsys.readouterr().out
    second = pd.read_csv(out / "run_details.csv")
    assert len(second) == 5 and second.galaxy.tolist()[:3] == first.galaxy.tolist()
    np.testing.assert_allclose(second.chi2_over_N[:3], first.chi2_over_N)
    assert {g: (out / f"{g}_3d_proxy.csv").stat().st_mtime_ns for g in first.galaxy} == stamp  # not rerun
    assert main([*base, "--limit", "5", "--ml-disk", "0.8"]) == 0  # other settings: nothing is reused
    assert "already complete" not in capsys.readouterr().out


def test_run3d_defaults_to_the_fast_solver_and_original_is_a_flag(tmp_path):
    base = ["run3d", "--mock", "3", "--subset", "all", "--nx", "16", "--no-progress"]
    assert main([*base, "--out-dir", str(tmp_path / "f")]) == 0
    assert main([*base, "--solver", "original", "--out-dir", str(tmp_path / "o")]) == 0
    fast = json.loads((tmp_path / "f" / "run.json").read_text())["config"]
    orig = json.loads((tmp_path / "o" / "run.json").read_text())["config"]
    assert (fast["solver"], fast["solver_dtype"], fast["n_jobs"]) == ("fast", "auto", 0)
    assert orig["solver"] == "original"
    fast_it = pd.read_csv(tmp_path / "f" / "run_details.csv").cg_iterations
    orig_it = pd.read_csv(tmp_path / "o" / "run_details.csv").cg_iterations
    assert (orig_it == 400).all() and (fast_it < 20).all()  # the original's cap vs converged PCG
