"""Reader for the SPARC galaxy table (Lelli+2016, ``SPARC_Lelli2016c.mrt``), spec section 2.1.

The data rows of the published file do not follow the byte ranges in its header (rows are shifted), so each
data row is split on whitespace: the first 18 tokens are the numeric/label columns, the rest is the
``Ref.`` column. Column names and types come from the header's byte-by-byte description when it can be
parsed, else from the known SPARC layout. Returns a DataFrame indexed by ``Galaxy``; units are those of
the table (D in Mpc, L[3.6] and MHI in 1e9 Lsun/Msun, Rdisk in kpc, Vflat in km/s). The source path is kept
in ``df.attrs["source"]``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .rotmod import MAX_DISTANCE_MPC, MAX_SPEED_KMS
from .textio import TextDecodeError, decode_text

#: Column labels and kinds of the SPARC galaxy table (used when the header cannot be parsed).
SPARC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Galaxy", "A"), ("T", "I"), ("D", "F"), ("e_D", "F"), ("f_D", "I"), ("Inc", "F"), ("e_Inc", "F"),
    ("L[3.6]", "F"), ("e_L[3.6]", "F"), ("Reff", "F"), ("SBeff", "F"), ("Rdisk", "F"), ("SBdisk", "F"),
    ("MHI", "F"), ("RHI", "F"), ("Vflat", "F"), ("e_Vflat", "F"), ("Q", "I"), ("Ref.", "A"),
)  # fmt: skip

_HEADER_RE = re.compile(r"^\s*\d+\s*(?:-\s*\d+)?\s+([AIFE])[\d.]+\s+\S+\s+(\S+)")


class TableFormatError(ValueError):
    """The galaxy table cannot be read; ``path`` and 1-based ``line`` say where."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def _parse_header(lines: list[str], source: str) -> list[tuple[str, str]] | None:
    """Labels and kinds from the byte-by-byte description, or None if absent/unusable.

    Raises :class:`TableFormatError` naming the line of a label the description gives twice.
    """
    cols: list[tuple[str, str]] = []
    in_desc = False
    for lineno, line in enumerate(lines, start=1):
        if line.lstrip().startswith("Bytes") and "Label" in line:
            in_desc = True
            continue
        if in_desc:
            m = _HEADER_RE.match(line)
            if m:
                if any(label == m.group(2) for label, _ in cols):
                    raise TableFormatError(source, lineno, f"header describes column {m.group(2)!r} twice")
                cols.append((m.group(2), m.group(1)))
            elif cols and line.startswith("-"):
                break
    if len(cols) < 2 or cols[0][1] != "A":
        return None
    return cols


def _data_start(lines: list[str]) -> int:
    """Index of the first data row: after the last line made only of dashes (MRT layout), else 0."""
    last = -1
    for i, line in enumerate(lines):
        s = line.strip()
        if len(s) >= 10 and set(s) <= {"-", "="}:
            last = i
    return last + 1


#: Physical ranges of SPARC table columns: label -> (lowest, whether the lowest itself is allowed, highest).
#: Distances must be positive; scale lengths, masses, luminosities and radii may be 0 (SPARC writes 0
#: when a quantity is not measured; the master table then records why it fell back, see ``R_d_source``).
#: The upper limits are generous physical bounds (Lelli+2016, Table 1: D <= 130 Mpc, Rdisk <= 20 kpc,
#: L[3.6] and MHI below 1e12 Lsun/Msun, Vflat <= 350 km/s), so only impossible values are refused.
_RANGES: dict[str, tuple[float, bool, float]] = {
    "T": (0, True, 11), "D": (0.0, False, MAX_DISTANCE_MPC), "e_D": (0.0, True, MAX_DISTANCE_MPC),
    "f_D": (1, True, 5), "Inc": (0.0, True, 90.0), "e_Inc": (0.0, True, 90.0), "L[3.6]": (0.0, True, 1e4),
    "e_L[3.6]": (0.0, True, 1e4), "Reff": (0.0, True, 1e3), "SBeff": (0.0, True, 1e6), "Rdisk": (0.0, True, 1e3),
    "SBdisk": (0.0, True, 1e6), "MHI": (0.0, True, 1e4), "RHI": (0.0, True, 1e3),
    "Vflat": (0.0, True, MAX_SPEED_KMS), "e_Vflat": (0.0, True, MAX_SPEED_KMS),
}  # fmt: skip


def _out_of_range(label: str, val: float) -> str:
    """Why ``val`` is outside the physical range of column ``label`` ("" when it is inside)."""
    if label == "Q" and val not in (1, 2, 3):
        return "is not a SPARC quality flag (1, 2 or 3)"
    if label in _RANGES:
        lo, inclusive, hi = _RANGES[label]
        if val < lo or (val == lo and not inclusive):
            return f"must be {'>=' if inclusive else '>'} {lo:g}"
        if val > hi:
            return f"must be <= {hi:g}"
    return ""


def parse_sparc_table_text(text: str, source: str = "<text>") -> pd.DataFrame:
    """Parse the text of a SPARC-format ``.mrt`` table (see module docstring)."""
    lines = text.splitlines()
    cols = _parse_header(lines, source) or list(SPARC_COLUMNS)
    n_fixed = len(cols) - 1 if cols[-1][1] == "A" else len(cols)
    records: list[list[object]] = []
    for i in range(_data_start(lines), len(lines)):
        raw = lines[i]
        if not raw.strip():
            continue
        tokens = raw.split()
        if len(tokens) < n_fixed:
            raise TableFormatError(source, i + 1, f"expected at least {n_fixed} fields, found {len(tokens)}")
        row: list[object] = []
        for (label, kind), tok in zip(cols[:n_fixed], tokens[:n_fixed], strict=True):
            if kind == "A":
                row.append(tok)
                continue
            try:
                val = float(tok)
            except ValueError:
                raise TableFormatError(source, i + 1, f"column {label}: {tok!r} is not a number") from None
            if not np.isfinite(val):
                raise TableFormatError(source, i + 1, f"column {label}: non-finite value {tok!r}")
            if kind == "I":
                if val != int(val):
                    raise TableFormatError(source, i + 1, f"column {label}: {tok!r} is not an integer")
                val = int(val)
            why = _out_of_range(label, val)
            if why:
                raise TableFormatError(source, i + 1, f"column {label}: {tok!r} {why}")
            row.append(val)
        if n_fixed < len(cols):
            row.append(" ".join(tokens[n_fixed:]))
        records.append(row)
    if not records:
        raise TableFormatError(source, None, "no data rows")
    df = pd.DataFrame(records, columns=[c for c, _ in cols])
    key = cols[0][0]
    dup = df[key][df[key].duplicated()].tolist()
    if dup:
        raise TableFormatError(source, None, f"duplicate galaxy names: {dup}")
    df = df.set_index(key)
    df.index.name = "Galaxy"
    df.attrs["source"] = source
    return df


def read_sparc_table(path: str | Path) -> pd.DataFrame:
    """Read a SPARC ``.mrt`` galaxy table into a DataFrame indexed by ``Galaxy`` (columns as in the file)."""
    p = Path(path)
    try:
        text = decode_text(p.read_bytes(), str(p))
    except TextDecodeError as exc:
        raise TableFormatError(p, None, str(exc).removeprefix(f"{p}: ")) from None
    return parse_sparc_table_text(text, str(p))


def format_sparc_table(df: pd.DataFrame) -> str:
    """Text of an ``.mrt`` table in the SPARC layout (byte-by-byte header + whitespace-aligned rows).

    ``df`` is indexed by Galaxy and holds the 18 other SPARC columns (see :data:`SPARC_COLUMNS`).
    """
    fmts = {
        "T": "{:2d}", "D": "{:6.2f}", "e_D": "{:5.2f}", "f_D": "{:2d}", "Inc": "{:4.1f}", "e_Inc": "{:4.1f}",
        "L[3.6]": "{:7.3f}", "e_L[3.6]": "{:7.3f}", "Reff": "{:5.2f}", "SBeff": "{:8.2f}", "Rdisk": "{:5.2f}",
        "SBdisk": "{:8.2f}", "MHI": "{:7.3f}", "RHI": "{:5.2f}", "Vflat": "{:5.1f}", "e_Vflat": "{:5.1f}",
        "Q": "{:3d}",
    }  # fmt: skip
    units = {
        "Galaxy": "---", "T": "---", "D": "Mpc", "e_D": "Mpc", "f_D": "---", "Inc": "deg", "e_Inc": "deg",
        "L[3.6]": "10+9solLum", "e_L[3.6]": "10+9solLum", "Reff": "kpc", "SBeff": "solLum/pc2", "Rdisk": "kpc",
        "SBdisk": "solLum/pc2", "MHI": "10+9solMass", "RHI": "kpc", "Vflat": "km/s", "e_Vflat": "km/s",
        "Q": "---", "Ref.": "---",
    }  # fmt: skip
    widths = {"Galaxy": 11, "Ref.": 14}
    lines = [
        "Title: SPARC-format galaxy table",
        "Table: Galaxy Sample",
        "=" * 80,
        "Byte-by-byte Description of file: Table1.mrt",
        "-" * 80,
        "   Bytes Format Units         Label   Explanations",
        "-" * 80,
    ]
    start = 1
    for label, kind in SPARC_COLUMNS:
        if label in fmts:
            spec = fmts[label]
            w = int(re.findall(r"\d+", spec)[0])
            fmt = ("I" if kind == "I" else "F") + (spec.strip("{:}").replace("d", "").replace("f", ""))
        else:
            w = widths[label]
            fmt = f"A{w}"
        lines.append(f"{start:4d}-{start + w - 1:3d} {fmt:<6s} {units[label]:<13s} {label:<8s}")
        start += w
    lines.append("-" * 80)
    for name, row in df.iterrows():
        parts = [f"{name:>11s}"]
        for label, kind in SPARC_COLUMNS[1:-1]:
            val = row[label]
            parts.append(fmts[label].format(int(val) if kind == "I" else float(val)))
        parts.append(f"{str(row.get('Ref.', 'mock')):>14s}")
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"
