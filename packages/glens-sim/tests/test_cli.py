"""``glens-sim`` command line: subcommands end to end, errors, plug-in registration."""

from __future__ import annotations

import sys
import types
from importlib.metadata import entry_points

import numpy as np
import pandas as pd
import pytest

from glens_sim import cli


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    assert cli.main(["synth", str(d / "maps"), "-n", "5", "--seed", "3", "--quiet"]) == 0
    return d


def test_entry_point_declared():
    eps = entry_points(group="console_scripts", name="glens-sim")
    assert [ep.value for ep in eps] == ["glens_sim.cli:main"]


def test_quality_score_tensors_rank(workdir, capsys):
    d = workdir
    assert cli.main(["quality", str(d / "maps"), "-o", str(d / "q.csv"), "--quiet"]) == 0
    q = pd.read_csv(d / "q.csv")
    assert len(q) == 5 and (q["status"] == "OK").all()
    assert cli.main(["score", str(d / "q.csv"), "-o", str(d / "s.csv")]) == 0
    s = pd.read_csv(d / "s.csv")
    keep = set(s.loc[s["lens_tier"].isin(["elite", "good"]), "plateifu"])
    assert 0 < len(keep) < 5  # the slow rotator and the poor-coverage galaxy are rejected
    args = ["tensors", str(d / "maps"), "-o", str(d / "t"), "--scored", str(d / "s.csv"), "--quiet"]
    assert cli.main(args) == 0
    for p in keep:
        t = np.load(d / "t" / f"source_tensor_{p}.npy")
        assert t.shape == (2, 64, 64) and np.isfinite(t).all()
        assert (d / "t" / f"source_preview_{p}.png").exists()
    assert set(pd.read_csv(d / "t" / "sources.csv")["plateifu"]) == keep
    args = ["rank", "--dapall", str(d / "maps" / "dapall-synthetic.fits"),
            "--drpall", str(d / "maps" / "drpall-synthetic.fits"), "-o", str(d / "r.csv"), "--top", "3"]  # fmt: skip
    assert cli.main(args) == 0
    assert len(pd.read_csv(d / "r.csv")) == 3
    assert "candidates" in capsys.readouterr().out


def test_quality_reports_bad_file(workdir, capsys):
    bad = workdir / "manga-1-1901-MAPS.fits.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert cli.main(["quality", str(bad), "-o", str(workdir / "qb.csv"), "--quiet"]) == 0
    assert "manga-1-1901-MAPS.fits.gz" in capsys.readouterr().err
    assert cli.main(["quality", str(bad), "-o", str(workdir / "qc.csv"), "--quiet", "--strict"]) == 2
    assert not (workdir / "qc.csv").exists()


def test_errors_exit_2_without_output(workdir, capsys):
    assert cli.main(["score", str(workdir / "missing.csv"), "-o", str(workdir / "x.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err and not (workdir / "x.csv").exists()
    empty = workdir / "empty_dir"
    empty.mkdir()
    assert cli.main(["quality", str(empty), "-o", str(workdir / "y.csv")]) == 2
    with pytest.raises(SystemExit):
        cli.main(["no-such-command"])


def test_plugin_register(monkeypatch, capsys):
    mod = types.ModuleType("glens_sim_fake_plugin")

    def register(subparsers):
        p = subparsers.add_parser("hello")
        p.add_argument("--name", default="world")
        p.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)

    mod.register = register
    monkeypatch.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES + (mod,))
    assert cli.main(["hello", "--name", "lens"]) == 0
    assert capsys.readouterr().out.strip() == "hello lens"


@pytest.mark.parametrize(
    "argv, named",
    [
        (["tensors", "MAPS", "-o", "OUT/t", "--scored", "OUT/s.csv", "--tiers", "great"], "tiers"),
        (["simulate", "OUT/t", "--out", "OUT/x.npz", "--repeats", "0"], "--repeats"),
        (["simulate", "OUT/t", "--out", "OUT/x.npz", "--set", "psf_sigma=-1"], "psf_sigma"),
        (["experiment", "OUT/t", "-o", "OUT/r.csv", "--factors", "0.1,x"], "--factors"),
        (["experiment", "OUT/t", "-o", "OUT/r.csv", "--epochs", "0"], "epochs"),
        (["quality", "MAPS", "-o", "OUT/q.csv", "--legacy-channel-index", "-3"], "legacy_channel_index"),
    ],
)  # fmt: skip
def test_mistakes_are_usage_errors_naming_the_argument(workdir, capsys, argv, named):
    """Every CLI mistake: exit status 2 and one line ``glens-sim <command>: error: ...`` naming it."""
    d = workdir
    if not (d / "t").exists():
        assert cli.main(["quality", str(d / "maps"), "-o", str(d / "q.csv"), "--quiet"]) == 0
        assert cli.main(["score", str(d / "q.csv"), "-o", str(d / "s.csv")]) == 0
        assert cli.main(["tensors", str(d / "maps"), "-o", str(d / "t"), "--no-preview", "--quiet"]) == 0
    capsys.readouterr()
    argv = [a.replace("MAPS", str(d / "maps")).replace("OUT", str(d)) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"glens-sim {argv[0]}: error: ") and named in err[-1]
    assert "Traceback" not in "\n".join(err)
