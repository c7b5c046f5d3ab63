"""Property-based fuzz of the MAPS reader (issue 13, "How well").

A small valid synthetic MAPS file (:mod:`glens_sim.synthetic`, the extensions :func:`read_maps` uses) is mutated
structurally (an extension removed, values replaced by NaN/inf/huge/negative numbers, a channel renamed, a plane
removed) and then byte-wise (gzip or not, truncation, byte flips, a header card overwritten, inserted or random
bytes). Property: :func:`read_maps` returns data or raises :class:`MapsFormatError` (a ``ValueError``) whose
message names the file. Deterministic (``derandomize=True``) for CI.
"""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from glens_sim.maps_io import MapsFormatError, read_maps
from glens_sim.synthetic import SyntheticGalaxy, synthetic_hdulist

#: The extensions read_maps reads (a MAPS file reduced to them keeps the fuzz fast).
USED = ("PRIMARY", "SPX_SKYCOO", "SPX_ELLCOO", "STELLAR_VEL", "STELLAR_VEL_IVAR", "STELLAR_VEL_MASK",
        "EMLINE_GFLUX", "EMLINE_GFLUX_IVAR", "EMLINE_GFLUX_MASK", "EMLINE_GVEL", "EMLINE_GVEL_IVAR",
        "EMLINE_GVEL_MASK")  # fmt: skip
CHANNELS = ("Hb-4862", "Ha-6564", "NII-6585")
NASTY = [np.nan, np.inf, -np.inf, 1e30, -1e30, 3e38, -1.0, 0.0, 1e-45]
CARDS = [b"NAXIS   = ", b"NAXIS1  = ", b"NAXIS3  = ", b"BITPIX  = ", b"C02     = ", b"ERRDATA = ", b"QUALDATA= ",
         b"PLATEIFU= ", b"REFF    = ", b"EXTNAME = ", b"END"]  # fmt: skip
CARD_VALUES = [b"-8", b"0", b"99999999999", b"'Ha-6564'", b"'NII-6585'", b"'NOPE'", b"nan", b"T", b"'", b"", b"3.5e"]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None, phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


@pytest.fixture(scope="module")
def valid_hdus() -> bytes:
    hdul = synthetic_hdulist(SyntheticGalaxy(ifu=19, n=10, emline_channels=CHANNELS), seed=3)
    buf = io.BytesIO()
    fits.HDUList([hdul[name] for name in USED]).writeto(buf)
    return buf.getvalue()


def _structural(draw: st.DrawFn, raw: bytes) -> bytes:
    """Apply 0-2 HDU-level mutations; return the FITS bytes."""
    ops = draw(st.lists(st.sampled_from(["drop_hdu", "values", "rename", "drop_plane"]), max_size=2))
    if not ops:
        return raw
    with fits.open(io.BytesIO(raw)) as src:
        hdus = [h.copy() for h in src]
    for op in ops:
        i = draw(st.integers(1, len(hdus) - 1))
        if op == "drop_hdu":
            del hdus[i]
            continue
        hdu = hdus[i]
        if op == "values":
            data = np.array(hdu.data, dtype=np.float64)
            flat = data.reshape(-1)
            for j in draw(st.lists(st.integers(0, flat.size - 1), min_size=1, max_size=4)):
                flat[j] = draw(st.sampled_from(NASTY))
            hdu.data = data.astype(np.float32)
        elif op == "rename" and "C02" in hdu.header:
            hdu.header["C02"] = draw(st.sampled_from(["NII-6585", "Hb-4862", "", "Ha-6564 x"]))
        elif op == "drop_plane" and hdu.data is not None and hdu.data.ndim == 3:
            hdu.data = hdu.data[:-1]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits.HDUList([fits.PrimaryHDU(header=hdus[0].header), *hdus[1:]]).writeto(buf, output_verify="silentfix")
    return buf.getvalue()


def _bytewise(draw: st.DrawFn, data: bytes) -> bytes:
    """Apply 0-3 byte-level mutations."""
    for op in draw(st.lists(st.sampled_from(["truncate", "flip", "card", "insert", "random"]), max_size=3)):
        if op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        elif op == "card":
            key = draw(st.sampled_from(CARDS))
            starts = [i for i in range(0, len(data) - 80, 80) if data[i : i + len(key)] == key]
            if starts:
                i = starts[draw(st.integers(0, len(starts) - 1))]
                card = (key + draw(st.sampled_from(CARD_VALUES))).ljust(80)[:80]
                data = data[:i] + card + data[i + 80 :]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.binary(min_size=1, max_size=64)) + data[i:]
        elif op == "random":
            data = draw(st.sampled_from([b"", b"SIMPLE  =", b"<html>404</html>"])) + draw(st.binary(max_size=3000))
    return data


@SETTINGS
@given(data=st.data())
def test_maps_reader_fuzz(tmp_path_factory: pytest.TempPathFactory, valid_hdus: bytes, data: st.DataObject) -> None:
    raw = _bytewise(data.draw, _structural(data.draw, valid_hdus))
    gz = data.draw(st.booleans())
    path = tmp_path_factory.mktemp("maps") / f"manga-10001-1901-MAPS-FUZZ.fits{'.gz' if gz else ''}"
    if gz:
        raw = gzip.compress(raw, mtime=0)
        raw = raw[: data.draw(st.sampled_from([len(raw), len(raw), len(raw) // 2]))]
    path.write_bytes(raw)
    velocity = data.draw(st.sampled_from(["gas", "stellar"]))
    try:
        maps = read_maps(path, velocity=velocity)
    except Exception as exc:  # noqa: BLE001 - the property is about the exception type
        assert isinstance(exc, MapsFormatError), f"{type(exc).__name__} outside MapsFormatError: {exc}"
        assert str(path) in str(exc), f"error does not name the file: {exc}"
        event(str(exc).removeprefix(f"{path}: ").split(" (")[0][:40])
        return
    event("read")
    assert maps.flux.shape == maps.velocity.shape == maps.flux_valid.shape
    assert np.all(np.abs(maps.velocity[maps.vel_valid]) <= 299_792.458)
