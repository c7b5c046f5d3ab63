"""Unit tests of the project's datasets (FITS, npz, torch checkpoint, reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.table import Table
from kedro.io.core import DatasetError, Version

from dark_halo_scope.datasets import FITSDataset, NpzDataset, ReaderDataset, TorchCheckpointDataset
from dark_halo_scope.datasets.reader import content_sha256


def test_fits_image_and_table_roundtrip_keeps_headers(tmp_path: Path) -> None:
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    header = fits.Header({"BUNIT": "Msun/pc2", "PIXSCALE": 0.262})
    table = Table({"galaxy": ["NGC3198", "DDO154"], "R_d_kpc": [3.2, 0.7]})
    ds = FITSDataset(filepath=str(tmp_path / "out" / "sigmab.fits"))
    assert not ds.exists()
    ds.save({"SIGMAB": (image, header), "RD": table})
    assert ds.exists()
    hdul = ds.load()
    assert [h.name for h in hdul] == ["PRIMARY", "SIGMAB", "RD"]
    np.testing.assert_array_equal(hdul["SIGMAB"].data, image)
    assert hdul["SIGMAB"].header["BUNIT"] == "Msun/pc2"
    assert hdul["SIGMAB"].header["PIXSCALE"] == pytest.approx(0.262)
    loaded = Table(hdul["RD"].data)
    assert list(loaded["galaxy"]) == ["NGC3198", "DDO154"]
    np.testing.assert_allclose(loaded["R_d_kpc"], [3.2, 0.7])


def test_fits_accepts_hdulist_array_and_checksum(tmp_path: Path) -> None:
    ds = FITSDataset(filepath=str(tmp_path / "a.fits"), save_args={"checksum": True})
    ds.save(np.ones((2, 2)))
    hdul = ds.load()
    assert "CHECKSUM" in hdul[0].header
    np.testing.assert_array_equal(hdul[0].data, np.ones((2, 2)))
    with pytest.raises(DatasetError, match="FITSDataset.save expects"):
        ds.save("not an image")


def test_fits_corrupt_file_names_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"SIMPLE  = T" + b"\0" * 10)
    with pytest.raises(DatasetError, match="bad.fits"):
        FITSDataset(filepath=str(bad)).load()


def test_fits_versioned(tmp_path: Path) -> None:
    ds = FITSDataset(filepath=str(tmp_path / "v.fits"), version=Version(None, None))
    ds.save(np.zeros(3))
    assert ds.exists()
    assert len(list((tmp_path / "v.fits").iterdir())) == 1


def test_npz_roundtrip_and_refuses_objects(tmp_path: Path) -> None:
    ds = NpzDataset(filepath=str(tmp_path / "fields.npz"))
    fields = {"d_iso": np.linspace(0, 1, 5), "trace": np.eye(3, dtype=np.float32)}
    ds.save(fields)
    out = ds.load()
    assert set(out) == {"d_iso", "trace"}
    np.testing.assert_array_equal(out["trace"], fields["trace"])
    assert out["trace"].dtype == np.float32
    with pytest.raises(DatasetError, match="dtype=object"):
        ds.save({"bad": np.array([{"a": 1}], dtype=object)})
    # the failed save left the previous file intact and no temporary file behind
    np.testing.assert_array_equal(ds.load()["d_iso"], fields["d_iso"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fields.npz"]


def test_torch_checkpoint_roundtrip_weights_only(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    model(torch.zeros(1, 2, 8, 8))
    ds = TorchCheckpointDataset(filepath=str(tmp_path / "model.pt"))
    ds.save({"state_dict": model.state_dict(), "meta": {"epoch": 3, "channels": ["flux", "vel"], "val_acc": 0.91}})
    ckpt = ds.load()
    assert ckpt["meta"] == {"epoch": 3, "channels": ["flux", "vel"], "val_acc": 0.91}
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ckpt["state_dict"][key], value)


class Payload:
    """Not an allowed global for ``weights_only`` unpickling."""


def test_torch_checkpoint_refuses_arbitrary_pickles(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "meta": {"x": Payload()}}, path)
    with pytest.raises(DatasetError, match="evil.pt"):
        TorchCheckpointDataset(filepath=str(path)).load()


def _write_two_files(target: Path, n: int = 2) -> None:
    target.mkdir()
    for i in range(n):
        (target / f"g{i}.txt").write_text(f"{i}\n")


def _read_texts(path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(Path(path).iterdir())}


def test_reader_generates_once_then_reads(tmp_path: Path) -> None:
    ds = ReaderDataset(
        filepath=str(tmp_path / "raw" / "mock"),
        reader=f"{__name__}:_read_texts",
        generator=f"{__name__}:_write_two_files",
        generates=str(tmp_path / "raw" / "mock"),
        generator_args={"n": 3},
    )
    assert ds.load() == {"g0.txt": "0\n", "g1.txt": "1\n", "g2.txt": "2\n"}
    (tmp_path / "raw" / "mock" / "g0.txt").write_text("edited\n")
    assert ds.load()["g0.txt"] == "edited\n"  # not regenerated
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["mock"]


def _failing_generator(target: Path) -> None:
    target.mkdir()
    (target / "half.txt").write_text("x")
    raise RuntimeError("generator died")


def test_reader_failed_generation_leaves_nothing(tmp_path: Path) -> None:
    ds = ReaderDataset(filepath=str(tmp_path / "mock"), reader=f"{__name__}:_read_texts",
                       generator=f"{__name__}:_failing_generator", generates=str(tmp_path / "mock"))
    with pytest.raises(DatasetError, match="generator died"):
        ds.load()
    assert list(tmp_path.iterdir()) == []


def test_reader_missing_input_without_generator(tmp_path: Path) -> None:
    ds = ReaderDataset(filepath=str(tmp_path / "nope"), reader=f"{__name__}:_read_texts")
    with pytest.raises(DatasetError, match="nope.*does not exist"):
        ds.load()


def test_content_hash_depends_on_names_and_bytes(tmp_path: Path) -> None:
    a = tmp_path / "a"
    _write_two_files(a)
    h1 = content_sha256(a)
    (a / "g1.txt").rename(a / "g9.txt")
    assert content_sha256(a) != h1
    (a / "g9.txt").rename(a / "g1.txt")
    assert content_sha256(a) == h1
    import hashlib

    assert content_sha256(a / "g0.txt") == hashlib.sha256(b"0\n").hexdigest()


def test_tracked_metrics_json_and_nested_mlflow_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    from dark_halo_scope.datasets import TrackedMetricsDataset

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run(run_name="parent") as parent:
            TrackedMetricsDataset(filepath=str(tmp_path / "m.json"), prefix="rs_ilg").save(
                {"metrics": {"median_chi2": 2.5, "nan_metric": float("nan")}}
            )
            variant = TrackedMetricsDataset(filepath=str(tmp_path / "v.json"), run_name="d_to_i")
            variant.save({"metrics": {"median_chi2": 2.6}, "params": {"grid3d": {"anisotropic": False}}})
        client = mlflow.MlflowClient()
        assert client.get_run(parent.info.run_id).data.metrics == {"rs_ilg.median_chi2": 2.5}
        children = client.search_runs(
            [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
        )
        assert [c.info.run_name for c in children] == ["d_to_i"]
        assert children[0].data.metrics == {"median_chi2": 2.6}
        assert children[0].data.params == {"grid3d.anisotropic": "False"}
    finally:
        mlflow.set_tracking_uri("")
    assert variant.load() == {"metrics": {"median_chi2": 2.6}, "params": {"grid3d": {"anisotropic": False}}}
    assert TrackedMetricsDataset(filepath=str(tmp_path / "m.json")).load()["metrics"]["nan_metric"] is None


def _write_folder(data: dict[str, str], root: Path, fail: bool = False) -> None:
    for name, text in data.items():
        (root / name).write_text(text)
    if fail:
        raise RuntimeError("writer died")


def test_directory_dataset_swaps_in_whole_folders(tmp_path: Path) -> None:
    from dark_halo_scope.datasets import DirectoryDataset

    ds = DirectoryDataset(filepath=str(tmp_path / "features"), writer=f"{__name__}:_write_folder")
    assert not ds.exists()
    ds.save({"a.json": "1", "b.json": "2"})
    assert ds.load() == tmp_path / "features"
    assert sorted(p.name for p in ds.load().iterdir()) == ["a.json", "b.json"]
    ds.save({"c.json": "3"})  # a new save replaces the folder: no stale files survive
    assert sorted(p.name for p in ds.load().iterdir()) == ["c.json"]
    broken = DirectoryDataset(filepath=str(tmp_path / "features"), writer=f"{__name__}:_write_folder", save_args={"fail": True})
    with pytest.raises(DatasetError, match="writer died"):
        broken.save({"d.json": "4"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features"]
    assert sorted(p.name for p in ds.load().iterdir()) == ["c.json"]


def test_figure_dataset_loads_the_saved_image_and_keeps_the_preview(tmp_path: Path) -> None:
    """kedro-datasets' MatplotlibDataset cannot load; FigureDataset returns the PNG (lazily), also when kedro-mlflow
    wraps it as in the catalog, and kedro-viz's preview is unchanged."""
    import base64

    import matplotlib.pyplot as plt
    from kedro_mlflow.io.artifacts import MlflowArtifactDataset

    from dark_halo_scope.datasets import FigureDataset

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [1, 0])
    ds = FigureDataset(filepath=str(tmp_path / "f.png"), save_args={"dpi": 50})
    ds.save(fig)
    image = ds.load()
    assert (image.format, image.size) == ("PNG", (200, 150))
    assert base64.b64decode(ds.preview()) == (tmp_path / "f.png").read_bytes()
    wrapped = MlflowArtifactDataset(dataset={"type": "dark_halo_scope.datasets.FigureDataset",
                                             "filepath": str(tmp_path / "g.png"), "save_args": {"dpi": 25}})
    wrapped._logging_activated = False  # no MLflow run here: save the file only
    wrapped.save(fig)
    assert wrapped.load().size == (100, 75)


def test_results_index_describes_each_kind_without_calling_partition_loaders() -> None:
    import pandas as pd
    from PIL import Image

    from dark_halo_scope.pipelines.results_index import describe, index_page

    def never() -> None:
        raise AssertionError("a partition was loaded")

    image = Image.new("RGB", (64, 32))
    image.format = "PNG"
    page = index_page("ns", {
        "ns.table": pd.DataFrame({"galaxy": ["a", "b"], "chi2": [1.0, 2.0]}),
        "ns.parts": {"b/x.png": never, "a/x.png": never, "c/x.png": never, "d/x.png": never},
        "ns.arrays": {"x": np.zeros((3, 2), dtype=np.float32)},
        "ns.metrics": {"median": 1.23456, "n": 4, "gate": {"auc": 0.5}},
        "ns.text": "\n## Study\nbody",
        "ns.figure": image,
        "ns.report": "<!DOCTYPE html>\n<html><head><title>Gate\n report</title></head><body>" + "x" * 5000,
    }, others=["ns.store", "ns.model"])  # fmt: skip
    assert page.splitlines()[:13] == [
        "# ns: results", "",
        "Every final output of the `ns` pipeline, i.e. one that no node reads (catalog name: what it holds):", "",
        "- `ns.arrays`: arrays: x (3, 2) float32",
        "- `ns.figure`: PNG figure, 64 × 32 px",
        "- `ns.metrics`: median = 1.235, n = 4, gate.auc = 0.5",
        "- `ns.parts`: 4 partitions: a/x.png, b/x.png, c/x.png, … (+1 more)",
        '- `ns.report`: HTML document "Gate report", 5 kB',
        "- `ns.table`: table, 2 rows × 2 columns: galaxy, chi2",
        "- `ns.text`: ## Study",
        "", "Also written by `ns` and read by later nodes (not loaded here):",
    ]  # fmt: skip
    assert "`ns.model`, `ns.store`" in page and "conf/base/catalog_*.yml" in page
    assert describe("y" * 500) == "y" * 120 + " …"  # a long first line is cut
    assert describe(pd.DataFrame({f"c{i}": [] for i in range(20)})).endswith("c11, … (+8 more)")
