"""Property-based fuzz of the rotmod and MRT readers (issue 13, "How well").

Valid files written by the mock writers are mutated (truncation, byte flips, BOM / CRLF / UTF-16, random text
lines, numbers replaced by NaN/inf/huge/negative values, a column removed) or replaced by random bytes. Property:
the reader returns data, or raises its documented error (:class:`RotmodFormatError`, :class:`TableFormatError`,
both ``ValueError``) whose message names the file. Deterministic (``derandomize=True``) for CI.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from rs_ilg.mock import make_mock_galaxies
from rs_ilg.rotmod import Rotmod, RotmodFormatError, format_rotmod, read_rotmod, read_rotmod_dir
from rs_ilg.table import SPARC_COLUMNS, TableFormatError, format_sparc_table, read_sparc_table

#: Replacement numbers: non-finite, huge, negative, zero, denormal, Python-only spellings, not numbers at all.
NASTY = ["nan", "NaN", "inf", "-inf", "1e308", "1e999", "-1e999", "-5", "-0", "0", "1e-320", "9" * 40,
         "1_0", "0x10", "1e", ".", "-", "١٢", "Infinity", "+nan"]  # fmt: skip
_NUMBER = re.compile(rb"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
#: Column labels of the MRT header, swapped by the "label" mutation (a header naming a column twice).
LABELS = [label for label, _ in SPARC_COLUMNS]
OPS = ("truncate", "flip", "bom", "crlf", "cr", "utf16", "line", "number", "drop_column", "label", "random")
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None, phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` after 1-3 random mutations (see module docstring)."""
    data = valid
    for op in draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=3)):
        if op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        elif op == "bom":
            data = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])) + data
        elif op == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif op == "cr":
            data = data.replace(b"\n", b"\r")
        elif op == "utf16":
            data = data.decode("utf-8", "replace").encode("utf-16")
        elif op == "line":
            lines = data.split(b"\n")
            lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=60)).encode("utf-8", "surrogatepass"))
            data = b"\n".join(lines)
        elif op == "number":
            spans = [m.span() for m in _NUMBER.finditer(data)]
            if spans:
                a, b = spans[draw(st.integers(0, len(spans) - 1))]
                data = data[:a] + draw(st.sampled_from(NASTY)).encode() + data[b:]
        elif op == "drop_column":
            k = draw(st.integers(0, 19))
            data = b"\n".join(b" ".join(t for j, t in enumerate(line.split()) if j != k) for line in data.split(b"\n"))
        elif op == "label":
            old, new = draw(st.sampled_from(LABELS)), draw(st.sampled_from(LABELS))
            data = re.sub(rb"(?<=\s)" + re.escape(old.encode()) + rb"(?=\s|$)", new.encode(), data, count=1)
        elif op == "random":
            data = draw(st.binary(max_size=400))
    return data


@pytest.fixture(scope="module")
def mock() -> tuple[dict[str, Rotmod], bytes]:
    curves, table = make_mock_galaxies(3, seed=1)
    return curves, format_sparc_table(table).encode()


def _check_error(exc: Exception, path: Path, documented: type[ValueError]) -> None:
    assert isinstance(exc, documented), f"{type(exc).__name__} outside the documented {documented.__name__}: {exc}"
    assert str(path) in str(exc), f"error does not name the file: {exc}"
    event(type(exc).__name__)


@SETTINGS
@given(data=st.data())
def test_rotmod_reader_fuzz(tmp_path_factory: pytest.TempPathFactory, mock, data: st.DataObject) -> None:
    curves, _ = mock
    valid = format_rotmod(curves[data.draw(st.sampled_from(sorted(curves)))]).encode()
    path = tmp_path_factory.mktemp("rotmod") / "FUZZ_rotmod.dat"
    path.write_bytes(data.draw(mutated(valid)))
    for bad_rows in ("raise", "drop"):
        try:
            rm = read_rotmod(path, bad_rows=bad_rows)
        except Exception as exc:  # noqa: BLE001 - the property is about the exception type
            _check_error(exc, path, RotmodFormatError)
            continue
        event("read")
        arrays = [rm.r_kpc, rm.v_obs, rm.e_v, rm.v_gas, rm.v_disk, rm.v_bul, rm.sb_disk, rm.sb_bul]
        assert len(rm) > 0 and all(a.shape == rm.r_kpc.shape and np.isfinite(a).all() for a in arrays)
        assert (np.diff(rm.r_kpc) > 0).all()
    # the folder reader, with a valid file beside the fuzzed one, skips the bad file and names it
    good = path.parent / "GOOD_rotmod.dat"
    good.write_bytes(valid)
    found = read_rotmod_dir(path.parent, on_error="skip")
    assert "GOOD" in found
    assert set(found) | set(found.skipped["galaxy"]) == {"GOOD", "FUZZ"}
    assert all(str(path) in reason for reason in found.skipped["reason"])


@SETTINGS
@given(data=st.data())
def test_mrt_reader_fuzz(tmp_path_factory: pytest.TempPathFactory, mock, data: st.DataObject) -> None:
    _, valid = mock
    path = tmp_path_factory.mktemp("mrt") / "SPARC_fuzz.mrt"
    path.write_bytes(data.draw(mutated(valid)))
    try:
        df = read_sparc_table(path)
    except Exception as exc:  # noqa: BLE001 - the property is about the exception type
        _check_error(exc, path, TableFormatError)
        return
    event("read")
    assert len(df) > 0 and df.index.is_unique and df.attrs["source"] == str(path)
