"""Property-based fuzz of the stamp-store and cutout readers (issue 13, "How well").

Valid files from the package's writers (:func:`store.write_part` in both layouts, :func:`write_cutout_fits`,
an upstream-style npz cutout) are mutated (truncation, byte flips, inserted or random bytes; NaN/inf/huge/negative
stamp values; a column or HDU removed) and read back. Property: the reader returns data or raises its documented
error — :class:`StoreError` for the store, ``ValueError`` for cutouts — whose message names the file.
Deterministic (``derandomize=True``) for CI.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from dhs_inject import store
from dhs_inject.cutouts import read_cutout_fits, read_cutout_npz, write_cutout_fits

NASTY = [np.nan, np.inf, -np.inf, 3e38, -3e38, -1.0, 0.0, 1e-45]
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


def _bytewise(draw: st.DrawFn, data: bytes) -> bytes:
    """Apply 1-3 byte-level mutations (truncate, flip, insert, random bytes)."""
    for op in draw(st.lists(st.sampled_from(["truncate", "flip", "flip", "insert", "random"]), min_size=1, max_size=3)):
        if op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.binary(min_size=1, max_size=64)) + data[i:]
        elif op == "random":
            data = draw(st.sampled_from([b"", b"PAR1", b"PK\x03\x04", b"SIMPLE  ="])) + draw(st.binary(max_size=2000))
    return data


def _read_or_documented_error(read, error: type[Exception], path: Path, label: str):
    """``read()``'s result, or ``None`` after checking its exception is ``error`` and names ``path`` (the property)."""
    try:
        result = read()
    except Exception as exc:  # noqa: BLE001 - the property is about the exception type
        assert isinstance(exc, error), f"{label}: {type(exc).__name__} outside {error.__name__}: {exc}"
        assert str(path) in str(exc), f"{label}: error does not name the file: {exc}"
        event(f"{label}: {error.__name__}")
        return None
    event(f"{label}: read")
    return result


def _rows(draw: st.DrawFn) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 4
    frame = pd.DataFrame({"task_id": [f"{i:04x}" for i in range(n)], "split": "train",
                          "label": np.int8(np.arange(n) % 2), "lens_theta_E": rng.uniform(0.5, 2, n)})  # fmt: skip
    stamps = rng.normal(size=(n, 3, 5, 5)).astype(np.float32)
    for _ in range(draw(st.integers(0, 3))):
        stamps.reshape(-1)[draw(st.integers(0, stamps.size - 1))] = draw(st.sampled_from(NASTY))
    frame["stamp"] = list(stamps)
    frame["ctrl_stamp"] = [stamps[i] + 1 if i % 2 else None for i in range(n)]
    frame["invvar"] = list(rng.uniform(1, 2, (n, 3, 5, 5)).astype(np.float32))
    if draw(st.booleans()):
        frame = frame.drop(columns=draw(st.sampled_from(["label", "lens_theta_E", "ctrl_stamp", "invvar"])))
    return frame


@SETTINGS
@given(data=st.data())
def test_store_reader_fuzz(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("store")
    layout = data.draw(st.sampled_from(["tensor", "npz"]))
    part = store.write_part(_rows(data.draw), root, layout=layout)
    part.write_bytes(_bytewise(data.draw, part.read_bytes()))
    readers = {"read_store": lambda: store.read_store(root), "read_stamps": lambda: store.read_stamps(root),
               "iter_store_batches": lambda: list(store.iter_store_batches(root, batch_rows=2))}  # fmt: skip
    for name, read in readers.items():
        _read_or_documented_error(read, store.StoreError, part, name)
    report = store.verify_store(root)  # never raises: problems are listed
    assert report["ok"] or report["problems"]


@SETTINGS
@given(data=st.data())
def test_cutout_fits_reader_fuzz(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("cutout") / "cutout.fits"
    image = np.random.default_rng(1).normal(size=(3, 8, 8)).astype(np.float32)
    image.reshape(-1)[data.draw(st.integers(0, image.size - 1))] = data.draw(st.sampled_from(NASTY))
    write_cutout_fits(path, image, "grz", 150.0, 2.0)
    if data.draw(st.booleans()):  # an invvar extension, as the service can deliver
        with fits.open(path) as hdul:
            fits.HDUList([hdul[0].copy(), fits.ImageHDU(np.ones_like(image), name="INVVAR")]).writeto(path, overwrite=True)
    path.write_bytes(_bytewise(data.draw, path.read_bytes()))
    got = _read_or_documented_error(lambda: read_cutout_fits(path), ValueError, path, "read_cutout_fits")
    if got is None:
        return
    cut, _ = got
    assert cut.image.ndim == 4 and cut.cutout_ok.shape == (1,)


@SETTINGS
@given(data=st.data())
def test_cutout_npz_reader_fuzz(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("npz") / "cutout.npz"
    cube = np.random.default_rng(2).normal(size=(8, 8, 3)).astype(np.float32)
    cube.reshape(-1)[data.draw(st.integers(0, cube.size - 1))] = data.draw(st.sampled_from(NASTY))
    members = {"cutout": cube, "meta_bands_requested": np.array(data.draw(st.sampled_from(["grz", "gr", "rz", "x"]))),
               "meta_ra": np.array(150.0)}  # fmt: skip
    if data.draw(st.booleans()):
        del members[data.draw(st.sampled_from(sorted(members)))]
    buf = io.BytesIO()
    (np.savez_compressed if data.draw(st.booleans()) else np.savez)(buf, **members)
    path.write_bytes(_bytewise(data.draw, buf.getvalue()))
    got = _read_or_documented_error(lambda: read_cutout_npz(path), ValueError, path, "read_cutout_npz")
    if got is None:
        return
    cut, _ = got
    assert cut.image.ndim == 4
