"""Every save is atomic, for every dataset type the catalog uses (docs/reliability.md).

A save that fails mid-write (the disk filling up: the file object raises ``OSError(ENOSPC)`` after the first bytes)
keeps the previous file whole and leaves no temporary file; a process SIGKILLed mid-write leaves the previous file
whole and a temporary file that the next run's :func:`clean_stale` removes; final files respect the umask.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dark_halo_scope import atomic
from dark_halo_scope.datasets import DirectoryDataset, FITSDataset, NpzDataset

atomic.install()  # what settings.py does for every Kedro session

FRAME = pd.DataFrame({"galaxy": ["NGC3198", "DDO154"], "chi2": [1.5, 2.5]})


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    return fig


def _datasets(tmp: Path) -> dict[str, tuple[Any, Any, Path]]:
    """name → (dataset, data, the file it writes): every dataset type of conf/base/catalog_*.yml."""
    from kedro_datasets.json import JSONDataset
    from kedro_datasets.matplotlib import MatplotlibDataset
    from kedro_datasets.pandas import CSVDataset, ParquetDataset
    from kedro_datasets.partitions import PartitionedDataset
    from kedro_datasets.pickle import PickleDataset
    from kedro_datasets.yaml import YAMLDataset
    from kedro_mlflow.io.artifacts import MlflowArtifactDataset

    artifact = MlflowArtifactDataset(dataset={"type": "pandas.CSVDataset", "filepath": str(tmp / "art.csv")})
    parts = PartitionedDataset(path=str(tmp / "parts"), dataset="json.JSONDataset", filename_suffix=".json")
    return {
        "parquet": (ParquetDataset(filepath=str(tmp / "t.parquet")), FRAME, tmp / "t.parquet"),
        "csv": (CSVDataset(filepath=str(tmp / "t.csv")), FRAME, tmp / "t.csv"),
        "pickle": (PickleDataset(filepath=str(tmp / "m.pkl")), {"a": list(range(100))}, tmp / "m.pkl"),
        "json": (JSONDataset(filepath=str(tmp / "c.json")), {"cohort": ["A", "B"]}, tmp / "c.json"),
        "yaml": (YAMLDataset(filepath=str(tmp / "c.yml")), {"k": 1}, tmp / "c.yml"),
        "matplotlib": (MatplotlibDataset(filepath=str(tmp / "f.png")), _figure(), tmp / "f.png"),
        "mlflow_artifact_csv": (artifact, FRAME, tmp / "art.csv"),
        "partitioned_json": (parts, {"p1": {"x": 1}}, tmp / "parts" / "p1.json"),
        "fits": (FITSDataset(filepath=str(tmp / "s.fits")), np.ones((4, 4)), tmp / "s.fits"),
        "npz": (NpzDataset(filepath=str(tmp / "s.npz")), {"a": np.arange(5)}, tmp / "s.npz"),
    }


class FullDisk:
    """A file whose disk fills up after 10 bytes."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def write(self, data: bytes) -> int:
        self._f.write(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


NAMES = [
    "parquet", "csv", "pickle", "json", "yaml", "matplotlib", "mlflow_artifact_csv", "partitioned_json", "fits", "npz",
]


@pytest.mark.parametrize("name", NAMES)
def test_failed_save_keeps_the_previous_file(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name.startswith("mlflow"):  # MlflowArtifactDataset logs to (and mlflow auto-starts) a run: keep it here
        import mlflow

        monkeypatch.chdir(tmp_path)
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
        monkeypatch.setattr(mlflow, "log_artifact", lambda *args, **kwargs: None)
    old_umask = os.umask(0o027)
    try:
        dataset, data, target = _datasets(tmp_path)[name]
        dataset.save(data)
        assert target.stat().st_mode & 0o777 == 0o640, "the final file respects the umask"
        before = target.read_bytes()

        real_open = atomic.AtomicFileOpener._open

        def full_disk_open(self: Any) -> None:
            real_open(self)
            self.f = FullDisk(self.f)

        monkeypatch.setattr(atomic.AtomicFileOpener, "_open", full_disk_open)
        with pytest.raises(Exception) as info:
            dataset.save(data)
        assert "No space left" in str(info.value) or isinstance(info.value.__cause__, OSError)
    finally:
        os.umask(old_umask)
        if name.startswith("mlflow"):
            mlflow.set_tracking_uri("")
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_disk_full_at_the_final_flush_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kedro_datasets.json import JSONDataset

    dataset = JSONDataset(filepath=str(tmp_path / "c.json"))
    dataset.save({"old": 1})
    real_open = atomic.AtomicFileOpener._open

    def full_at_close(self: Any) -> None:
        real_open(self)
        f = self.f

        class Closing(FullDisk):
            def write(self, data: bytes) -> int:
                return f.write(data)

            def close(self) -> None:
                f.close()
                raise OSError(errno.ENOSPC, "No space left on device")

        self.f = Closing(f)

    monkeypatch.setattr(atomic.AtomicFileOpener, "_open", full_at_close)
    with pytest.raises(Exception, match="No space left"):
        dataset.save({"new": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    assert dataset.load() == {"old": 1}


def test_sigkill_mid_write_keeps_the_previous_file_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "layer" / "master.pkl"
    script = textwrap.dedent(f"""
        import pickle, sys, time
        from dark_halo_scope import atomic
        from kedro_datasets.pickle import PickleDataset
        atomic.install()
        ds = PickleDataset(filepath={str(target)!r})
        ds.save({{"good": 1}})
        class Slow:
            def __reduce__(self):
                print("writing", flush=True)
                time.sleep(60)
                return (dict, ())
        ds.save([b"x" * 200_000, Slow()])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    import pickle

    assert pickle.loads(target.read_bytes()) == {"good": 1}
    leftovers = [p for p in target.parent.iterdir() if p.name != "master.pkl"]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".part") and leftovers[0].stat().st_size > 0
    live = atomic.temp_name(target)  # a concurrent live run's temporary file is never removed
    live.write_bytes(b"in progress")
    assert atomic.clean_stale(tmp_path) == leftovers
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(["master.pkl", live.name])


def test_directory_dataset_swaps_whole_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setitem(sys.modules, "h6_writers", type(sys)("h6_writers"))

    def write(data: dict, folder: Path) -> None:
        for name, value in data.items():
            (folder / name).write_text(json.dumps(value))
            os.chmod(folder / name, 0o600)  # like a writer using mkstemp
        if data.get("fail"):
            raise RuntimeError("writer failed half-way")

    sys.modules["h6_writers"].write = write
    ds = DirectoryDataset(filepath=str(tmp_path / "features"), writer="h6_writers:write")
    ds.save({"a.json": 1, "b.json": 2})
    assert sorted(p.name for p in ds.load().iterdir()) == ["a.json", "b.json"]
    assert (tmp_path / "features" / "a.json").stat().st_mode & 0o066 == 0o666 & ~atomic.umask() & 0o066
    with pytest.raises(Exception, match="half-way"):
        ds.save({"c.json": 3, "fail": True})
    assert sorted(p.name for p in ds.load().iterdir()) == ["a.json", "b.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features"]


def test_fsspec_transaction_publishes_each_file_once_at_its_end(tmp_path: Path) -> None:
    """Lightning saves checkpoints inside ``fs.transaction``: files appear when the transaction ends, not twice."""
    fs = atomic.AtomicLocalFileSystem()
    target = tmp_path / "last.ckpt"
    with fs.transaction:
        with fs.open(str(target), "wb") as f:
            f.write(b"state")
        assert not target.exists()
    assert target.read_bytes() == b"state"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
