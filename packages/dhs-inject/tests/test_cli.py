"""The ``dhs-inject`` command: bricks → splits → manifest → inject → verify, and usage errors naming the argument."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dhs_inject import store
from dhs_inject.cli import main


def test_command_line_flow(inject_survey, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = inject_survey.root
    assert main(["bricks", str(root)]) == 0
    assert len(pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))) == 3
    cat = root / "lrg-hosts.parquet"
    assert main(["splits", str(cat), "--survey", str(root), "-o", str(tmp_path / "s.parquet"),
                 "--set", "guard_deg=0"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["kept"] == len(inject_survey.lrgs)
    manifest = tmp_path / "m.parquet"
    assert main(["manifest", str(root), "-o", str(manifest), "--set", "tier=train", "--set", "replicates=1",
                 "--set", "splits.guard_deg=0", "--set", "grid=prior", "--set", "control_fraction=0.3"]) == 0  # fmt: skip
    rows = pd.read_parquet(manifest)
    assert set(rows["label"]) == {0, 1}
    assert main(["inject", str(manifest), "--survey", str(root), "-o", str(tmp_path / "store"), "--workers", "1",
                 "--quiet", "--part-rows", "8"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["rows_written"] == len(rows)
    assert main(["verify", str(tmp_path / "store"), "--manifest", str(manifest)]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    victim = store.part_paths(tmp_path / "store")[0]
    victim.unlink()  # a gap
    assert main(["verify", str(tmp_path / "store"), "--manifest", str(manifest)]) == 1
    assert "missing from the store" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "culprit"),
    [
        (["manifest", "{root}", "-o", "{tmp}/m.parquet", "--set", "grid=grid_nope"], "grid_nope"),
        (["manifest", "{root}", "-o", "{tmp}/m.parquet", "--set", "tier=huge"], "tier"),
        (["inject", "{tmp}/absent.parquet", "--survey", "{root}", "-o", "{tmp}/s"], "argument manifest"),
        (["inject", "{tmp}/absent.parquet", "--survey", "{root}", "-o", "{tmp}/s", "--runner", "spark"], "--runner"),
        (["verify", "{tmp}/nowhere"], "argument store"),
        (["bricks", "{tmp}/new", "--synthetic"], "--lrg-catalogue"),
    ],
)
def test_usage_errors_exit_2_naming_the_argument(argv, culprit, inject_survey, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(root=inject_survey.root, tmp=tmp_path) for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert culprit in capsys.readouterr().err
