"""Rotmod reader: real SPARC files, folder and zip input, and bad input naming file and line."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest

from rs_ilg.rotmod import RotmodFormatError, format_rotmod, parse_rotmod_text, read_rotmod, read_rotmod_dir

GOOD = """# Distance = 5.0 Mpc
# Rad\tVobs\terrV\tVgas\tVdisk\tVbul\tSBdisk\tSBbul
# kpc\tkm/s\tkm/s\tkm/s\tkm/s\tkm/s\tL/pc^2\tL/pc^2
0.5\t20.0\t2.0\t-1.0\t15.0\t0.0\t100.0\t0.0
1.0\t35.0\t2.5\t3.0\t25.0\t0.0\t60.0\t0.0
1.5\t45.0\t3.0\t5.0\t30.0\t0.0\t40.0\t0.0
"""


def test_real_ngc3198(sparc_dir):
    rm = read_rotmod(sparc_dir / "Rotmod_LTG" / "NGC3198_rotmod.dat")
    assert rm.name == "NGC3198" and len(rm) == 43 and rm.distance_mpc == 13.8
    assert (rm.r_kpc[0], rm.v_obs[0], rm.e_v[0], rm.v_disk[0], rm.sb_disk[0]) == (0.32, 24.40, 35.90, 63.28, 1084.92)
    assert rm.lines[0] == 4 and rm.r_kpc.dtype == np.float64


def test_real_folder_counts(sparc_rotmods):
    assert len(sparc_rotmods) == 175
    assert sum(len(r) for r in sparc_rotmods.values()) == 3391
    assert list(sparc_rotmods) == sorted(sparc_rotmods)
    neg = [r for r in sparc_rotmods.values() if np.any(r.v_gas < 0)]
    assert len(neg) == 48 and sum(int(np.sum(r.v_gas < 0)) for r in neg) == 361  # spec 2.1
    assert len(sparc_rotmods.skipped) == 0 and len(sparc_rotmods.dropped_rows) == 0


def test_zip_equals_folder(sparc_dir, sparc_rotmods, tmp_path):
    zpath = tmp_path / "Rotmod_LTG.zip"
    names = ["CamB", "NGC3198", "UGC12732"]
    with zipfile.ZipFile(zpath, "w") as zf:
        for n in names:
            zf.write(sparc_dir / "Rotmod_LTG" / f"{n}_rotmod.dat", f"Rotmod_LTG/{n}_rotmod.dat")
        zf.writestr("__MACOSX/._CamB_rotmod.dat", b"\x00\x01")
    got = read_rotmod_dir(zpath)
    assert list(got) == names
    for n in names:
        np.testing.assert_array_equal(got[n].v_obs, sparc_rotmods[n].v_obs)
        assert got[n].source.endswith(f"::Rotmod_LTG/{n}_rotmod.dat")


def test_format_round_trip(tmp_path):
    rm = parse_rotmod_text(GOOD, "x/G1_rotmod.dat")
    assert rm.name == "G1" and rm.v_gas[0] == -1.0
    p = tmp_path / "G1_rotmod.dat"
    p.write_text(format_rotmod(rm))
    back = read_rotmod(p)
    for k in ("r_kpc", "v_obs", "e_v", "v_gas", "v_disk", "v_bul", "sb_disk", "sb_bul"):
        np.testing.assert_array_equal(getattr(back, k), getattr(rm, k))
    assert back.distance_mpc == 5.0


@pytest.mark.parametrize(
    ("bad_line", "lineno", "needle"),
    [
        ("2.0\t50.0\t3.0\t6.0\t33.0\t0.0", 7, "missing SBdisk, SBbul"),
        ("2.0\t50.0\tabc\t6.0\t33.0\t0.0\t30.0\t0.0", 7, "errV: 'abc' is not a number"),
        ("2.0\tnan\t3.0\t6.0\t33.0\t0.0\t30.0\t0.0", 7, "Vobs: non-finite"),
        ("2.0\t50.0\t0.0\t6.0\t33.0\t0.0\t30.0\t0.0", 7, "errV = 0 must be > 0"),
        ("2.0\t50.0\t3.0\t6.0\t33.0\t0.0\t30.0\t0.0\t9", 7, "found 9"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, bad_line, lineno, needle):
    p = tmp_path / "BAD_rotmod.dat"
    p.write_text(GOOD + bad_line + "\n")
    with pytest.raises(RotmodFormatError) as ei:
        read_rotmod(p)
    assert ei.value.path == str(p) and ei.value.line == lineno
    assert needle in str(ei.value) and f"{p}:{lineno}" in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_zero_error_rows_dropped_are_recorded(tmp_path):
    p = tmp_path / "Z_rotmod.dat"
    p.write_text(GOOD + "2.0\t50.0\t0.0\t6.0\t33.0\t0.0\t30.0\t0.0\n")
    rm = read_rotmod(p, bad_rows="drop")
    assert len(rm) == 3
    assert rm.dropped_rows.to_dict("records") == [
        {"galaxy": "Z", "path": str(p), "line": 7, "reason": "errV = 0 must be > 0"}
    ]


def test_dir_skip_records_bad_files(tmp_path):
    (tmp_path / "A_rotmod.dat").write_text(GOOD)
    (tmp_path / "B_rotmod.dat").write_text(GOOD + "1 2 x 4 5 6 7 8\n")
    (tmp_path / "C_rotmod.dat").write_text("# Distance = 1 Mpc\n")
    with pytest.raises(RotmodFormatError):
        read_rotmod_dir(tmp_path)
    got = read_rotmod_dir(tmp_path, on_error="skip")
    assert list(got) == ["A"]
    sk = got.skipped.set_index("galaxy")
    assert sk.loc["B", "line"] == 7 and "not a number" in sk.loc["B", "reason"]
    assert "no usable data rows" in sk.loc["C", "reason"]


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_rotmod_dir(tmp_path / "nope")


@pytest.mark.parametrize("encode", [
    lambda t: b"\xef\xbb\xbf" + t.encode(),                     # UTF-8 with a byte-order mark
    lambda t: t.replace("\n", "\r\n").encode(),                 # Windows line endings
    lambda t: t.replace("\n", "\r").encode(),                   # classic Mac line endings
    lambda t: t.encode("utf-16"),                               # UTF-16 with its BOM
])  # fmt: skip
def test_common_encodings_and_line_endings_read_the_same(tmp_path, encode):
    """Issue 12: a rotmod file saved with a UTF-8 BOM failed with "expected 8 columns, found 5" at line 1."""
    text = "# Distance = 10.0 Mpc\n# Rad Vobs\n0.5\t20.0\t2.0\t5.0\t10.0\t0.0\t1.0\t0.0\n1.0\t30.0\t2.0\t6.0\t12.0\t0.0\t0.5\t0.0\n"
    plain = parse_rotmod_text(text, "G_rotmod.dat")
    f = tmp_path / "G_rotmod.dat"
    f.write_bytes(encode(text))
    for got in (read_rotmod(f), read_rotmod_dir(tmp_path)["G"]):
        assert got.distance_mpc == 10.0
        np.testing.assert_array_equal(got.to_frame().to_numpy(), plain.to_frame().to_numpy())


def test_undecodable_file_names_its_encoding(tmp_path):
    f = tmp_path / "G_rotmod.dat"
    f.write_bytes(b"# Distance = 10 Mpc\n0.5\t20\t2\t5\t10\t0\t1\t0 \xe9\xff\n")
    with pytest.raises(RotmodFormatError, match=r"G_rotmod.dat: not UTF-8 text \(byte offset 40"):
        read_rotmod(f)


@pytest.mark.parametrize("row,line,what", [
    ("0.5\t20.0\t2.0\t5.0\t-10.0\t0.0\t1.0\t0.0", 3, "Vdisk = -10 must be >= 0"),
    ("0.5\t1e30\t2.0\t5.0\t10.0\t0.0\t1.0\t0.0", 3, "Vobs = 1e+30 km/s exceeds 1000 km/s"),
    ("0.5\t20.0\t2.0\t5.0\t10.0\t-1.0\t1.0\t0.0", 3, "Vbul = -1 must be >= 0"),
])  # fmt: skip
def test_physical_range_errors_name_file_line_and_column(row, line, what):
    text = f"# Distance = 10.0 Mpc\n0.2\t10.0\t2.0\t5.0\t10.0\t0.0\t1.0\t0.0\n{row}\n"
    with pytest.raises(RotmodFormatError, match=re.escape(f"G_rotmod.dat:{line}: {what}")):
        parse_rotmod_text(text, "G_rotmod.dat")
    dropped = parse_rotmod_text(text, "G_rotmod.dat", bad_rows="drop").dropped_rows
    assert dropped["line"].tolist() == [line] and what in dropped["reason"].iloc[0]


def test_unsorted_or_duplicated_radii_and_bad_distance_are_errors():
    base = "0.5\t20.0\t2.0\t5.0\t10.0\t0.0\t1.0\t0.0\n"
    with pytest.raises(RotmodFormatError, match=r"G_rotmod.dat:3: column Rad: 0.5 kpc is not greater .* \(line 2\)"):
        parse_rotmod_text("# Distance = 1 Mpc\n" + base + base, "G_rotmod.dat")
    with pytest.raises(RotmodFormatError, match="G_rotmod.dat:3: column Rad: 0.2 kpc"):
        parse_rotmod_text("# Distance = 1 Mpc\n" + base + base.replace("0.5", "0.2", 1), "G_rotmod.dat")


@pytest.mark.parametrize("value,what", [
    ("1e999", "is not finite"), ("inf", "is not finite"), ("nan", "is not finite"), ("-3", "is outside (0, 1000]"),
    ("0", "is outside (0, 1000]"), ("1e30", "is outside (0, 1000]"), ("13.8x", "'13.8x' is not a number"),
])  # fmt: skip
def test_distance_header_must_be_finite_and_physical(value, what):
    text = f"# comment\n# Distance = {value} Mpc\n0.5\t20.0\t2.0\t5.0\t10.0\t0.0\t1.0\t0.0\n"
    with pytest.raises(RotmodFormatError, match=re.escape(f"G_rotmod.dat:2: header field Distance = ") + ".*"
                       + re.escape(what)) as ei:
        parse_rotmod_text(text, "G_rotmod.dat")
    assert ei.value.line == 2


def test_unknown_distance_round_trips():
    rm = parse_rotmod_text(GOOD.split("\n", 1)[1], "G_rotmod.dat")
    assert np.isnan(rm.distance_mpc)
    assert np.isnan(parse_rotmod_text(format_rotmod(rm), "G_rotmod.dat").distance_mpc)
