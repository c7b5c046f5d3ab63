"""SPARC galaxy table reader (spec 2.1)."""

from __future__ import annotations

import re

import pytest

from rs_ilg.mock import write_mock_sparc
from rs_ilg.table import TableFormatError, format_sparc_table, parse_sparc_table_text, read_sparc_table


def test_real_table(sparc_table, sparc_rotmods):
    t = sparc_table
    assert t.shape == (175, 18) and t.index.name == "Galaxy"
    assert sorted(t.index) == list(sparc_rotmods)  # the 175 names equal the rotmod file names
    assert t["Q"].value_counts().to_dict() == {1: 99, 2: 64, 3: 12}
    row = t.loc["NGC3198"]
    assert (row["D"], row["Inc"], row["Rdisk"], row["MHI"], row["Vflat"], row["Q"]) == (13.8, 73.0, 3.14, 10.869, 150.1, 1)
    assert t.loc["DDO064", "Ref."] == "dB02,Sw02"
    assert t.attrs["source"].endswith("SPARC_Lelli2016c.mrt")


def test_round_trip(sparc_table):
    back = parse_sparc_table_text(format_sparc_table(sparc_table))
    assert back.equals(sparc_table)


def test_rows_without_header_use_known_layout(sparc_dir):
    lines = (sparc_dir / "SPARC_Lelli2016c.mrt").read_text().splitlines()
    data = [ln for ln in lines[98:] if ln.strip()]
    t = parse_sparc_table_text("\n".join(data[:5]))
    assert list(t.index) == ["CamB", "D512-2", "D564-8", "D631-7", "DDO064"] and t.loc["CamB", "Q"] == 2


def test_bad_number_names_line(sparc_dir, tmp_path):
    lines = (sparc_dir / "SPARC_Lelli2016c.mrt").read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.strip().startswith("NGC3198"))
    lines[i] = lines[i].replace(" 13.80 ", " 13.8x ")
    p = tmp_path / "bad.mrt"
    p.write_text("\n".join(lines))
    with pytest.raises(TableFormatError) as ei:
        read_sparc_table(p)
    assert ei.value.line == i + 1 and "column D: '13.8x' is not a number" in str(ei.value)


def test_short_row(tmp_path):
    p = tmp_path / "short.mrt"
    p.write_text("-" * 20 + "\nG1 10 3.0 0.2 2\n")
    with pytest.raises(TableFormatError, match=r"short.mrt:2: expected at least 18 fields"):
        read_sparc_table(p)


@pytest.mark.parametrize("column,value,what", [
    ("D", "-3.00", "must be > 0"), ("D", "1e30", "must be <= 1000"), ("Rdisk", "-1.00", "must be >= 0"),
    ("Rdisk", "1e9", "must be <= 1000"), ("Inc", "95", "must be <= 90"), ("Vflat", "5000", "must be <= 1000"),
    ("MHI", "1e8", "must be <= 10000"), ("T", "99", "must be <= 11"), ("f_D", "9", "must be <= 5"),
    ("Q", "7", "is not a SPARC quality flag"),
])  # fmt: skip
def test_physical_range_errors_name_file_line_and_column(tmp_path, column, value, what):
    rot_dir, table = write_mock_sparc(tmp_path / "in", 3, 0)
    df = read_sparc_table(table)
    df.loc[df.index[1], column] = float(value) if column != "Q" else int(value)
    bad = tmp_path / "bad.mrt"
    bad.write_text(format_sparc_table(df))
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if ln.split()[:1] == [df.index[1]])
    with pytest.raises(TableFormatError, match=rf"bad.mrt:{line}: column {re.escape(column)}: .* {what}"):
        read_sparc_table(bad)
