"""Reader for SPARC rotation-curve mass models (``<Galaxy>_rotmod.dat``): one file, a folder, or the
official ``Rotmod_LTG.zip``.

File format (SPARC, Lelli+2016): comment lines starting with ``#`` (the first reads
``# Distance = <D> Mpc``), then whitespace-separated rows of 8 columns
Rad [kpc], Vobs, errV, Vgas, Vdisk, Vbul [km/s], SBdisk, SBbul [Lsun/pc^2]. Vdisk and Vbul are for
M/L = 1 at 3.6 micron; a negative Vgas marks a negative contribution to v^2.

Bad input raises :class:`RotmodFormatError` naming the file and the 1-based line number. Rows that are well
formed but unusable (Rad <= 0, Vobs <= 0 or errV <= 0) raise too, unless ``bad_rows="drop"``, in which case
each dropped row is recorded in the returned ``Rotmod.dropped_rows`` (never a silent drop).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .textio import TextDecodeError, decode_text

COLUMNS: tuple[str, ...] = ("Rad", "Vobs", "errV", "Vgas", "Vdisk", "Vbul", "SBdisk", "SBbul")
SUFFIX = "_rotmod.dat"
_DISTANCE_RE = re.compile(r"#\s*Distance\s*=\s*(\S+)\s*Mpc", re.IGNORECASE)

BadRows = Literal["raise", "drop"]


class RotmodFormatError(ValueError):
    """A rotmod file that cannot be read. ``path`` names the file (``zip::member`` inside a zip archive),
    ``line`` the 1-based line number (``None`` for whole-file problems)."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class Rotmod:
    """One galaxy's rotation curve and mass-model components (float64 arrays, one entry per row).

    r_kpc [kpc], v_obs, e_v, v_gas, v_disk, v_bul [km/s], sb_disk, sb_bul [Lsun/pc^2];
    distance_mpc is NaN when the header has no distance. ``source`` is the path read; ``lines`` the
    1-based file line of each row; ``dropped_rows`` lists rows removed under ``bad_rows="drop"``.
    """

    name: str
    distance_mpc: float
    r_kpc: np.ndarray
    v_obs: np.ndarray
    e_v: np.ndarray
    v_gas: np.ndarray
    v_disk: np.ndarray
    v_bul: np.ndarray
    sb_disk: np.ndarray
    sb_bul: np.ndarray
    source: str = ""
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dropped_rows: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["galaxy", "path", "line", "reason"])
    )

    def __len__(self) -> int:
        return int(self.r_kpc.size)

    def to_frame(self) -> pd.DataFrame:
        """Rows as a DataFrame with the SPARC column names."""
        return pd.DataFrame(
            {
                "Rad": self.r_kpc,
                "Vobs": self.v_obs,
                "errV": self.e_v,
                "Vgas": self.v_gas,
                "Vdisk": self.v_disk,
                "Vbul": self.v_bul,
                "SBdisk": self.sb_disk,
                "SBbul": self.sb_bul,
            }
        )


class RotmodSet(dict):
    """``dict[str, Rotmod]`` in C-locale name order, plus ``skipped`` (galaxy, path, line, reason) for files
    left out under ``on_error="skip"`` and ``dropped_rows`` for rows dropped under ``bad_rows="drop"``."""

    skipped: pd.DataFrame
    dropped_rows: pd.DataFrame


def galaxy_name_from_path(path: str | Path) -> str:
    """``.../NGC3198_rotmod.dat`` -> ``NGC3198`` (any other ``*.dat``: the stem)."""
    base = Path(str(path).split("::")[-1]).name
    return base[: -len(SUFFIX)] if base.endswith(SUFFIX) else Path(base).stem


#: Largest plausible rotation or component speed [km/s]: the fastest disc galaxies rotate at ~500 km/s.
MAX_SPEED_KMS: float = 1000.0
#: Largest plausible distance of a galaxy with a resolved rotation curve [Mpc] (SPARC's farthest: ~130 Mpc).
MAX_DISTANCE_MPC: float = 1000.0


def _distance_problem(token: str) -> str:
    """Why a header ``Distance = <token> Mpc`` is unusable ("" when it is a finite 0 < D <= MAX_DISTANCE_MPC)."""
    try:
        d = float(token)
    except ValueError:
        return f"Distance = {token!r} is not a number"
    if not math.isfinite(d):
        return f"Distance = {token} Mpc is not finite"
    if not 0 < d <= MAX_DISTANCE_MPC:
        return f"Distance = {token} Mpc is outside (0, {MAX_DISTANCE_MPC:g}] Mpc"
    return ""


def _row_problems(values: list[float]) -> list[str]:
    """Why a parsed row is outside the physical range (``COLUMNS`` order), empty when it is fine: Rad, Vobs
    and errV must be > 0; Vdisk and Vbul >= 0 (Vgas may be negative, SPARC's convention for a gas ring
    pulling outwards); every speed below :data:`MAX_SPEED_KMS`; surface brightnesses >= 0."""
    out = [f"{col} = {values[i]:g} must be > 0" for i, col in ((0, "Rad"), (1, "Vobs"), (2, "errV")) if values[i] <= 0]
    out += [f"{col} = {values[i]:g} must be >= 0" for i, col in ((4, "Vdisk"), (5, "Vbul"), (6, "SBdisk"), (7, "SBbul"))
            if values[i] < 0]  # fmt: skip
    out += [f"{col} = {values[i]:g} km/s exceeds {MAX_SPEED_KMS:g} km/s"
            for i, col in ((1, "Vobs"), (2, "errV"), (3, "Vgas"), (4, "Vdisk"), (5, "Vbul")) if abs(values[i]) > MAX_SPEED_KMS]
    return out


def parse_rotmod_text(text: str, source: str, name: str | None = None, bad_rows: BadRows = "raise") -> Rotmod:
    """Parse the text of one rotmod file. ``source`` is used in error messages and to name the galaxy."""
    name = name or galaxy_name_from_path(source)
    distance = math.nan
    rows: list[list[float]] = []
    lines: list[int] = []
    dropped: list[dict[str, object]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = _DISTANCE_RE.match(line)
            if m:
                why = _distance_problem(m.group(1))
                if why:
                    raise RotmodFormatError(source, lineno, f"header field {why}")
                distance = float(m.group(1))
            continue
        tokens = line.split()
        if len(tokens) < len(COLUMNS):
            missing = ", ".join(COLUMNS[len(tokens) :])
            raise RotmodFormatError(
                source, lineno, f"expected {len(COLUMNS)} columns {COLUMNS}, found {len(tokens)} (missing {missing})"
            )
        if len(tokens) > len(COLUMNS):
            raise RotmodFormatError(source, lineno, f"expected {len(COLUMNS)} columns, found {len(tokens)}")
        values: list[float] = []
        for col, tok in zip(COLUMNS, tokens, strict=True):
            try:
                val = float(tok)
            except ValueError:
                raise RotmodFormatError(source, lineno, f"column {col}: {tok!r} is not a number") from None
            if not math.isfinite(val):
                raise RotmodFormatError(source, lineno, f"column {col}: non-finite value {tok!r}")
            values.append(val)
        problems = _row_problems(values)
        if problems:
            reason = "; ".join(problems)
            if bad_rows == "raise":
                raise RotmodFormatError(source, lineno, reason + " (use bad_rows='drop' to drop such rows)")
            dropped.append({"galaxy": name, "path": source, "line": lineno, "reason": reason})
            continue
        if rows and values[0] <= rows[-1][0]:
            raise RotmodFormatError(source, lineno, f"column Rad: {values[0]:g} kpc is not greater than the previous "
                                    f"row's {rows[-1][0]:g} kpc (line {lines[-1]}): radii must be unique and "
                                    f"increasing")  # fmt: skip
        rows.append(values)
        lines.append(lineno)
    if not rows:
        raise RotmodFormatError(source, None, "no usable data rows")
    arr = np.asarray(rows, dtype=np.float64)
    return Rotmod(
        name=name,
        distance_mpc=distance,
        r_kpc=arr[:, 0].copy(),
        v_obs=arr[:, 1].copy(),
        e_v=arr[:, 2].copy(),
        v_gas=arr[:, 3].copy(),
        v_disk=arr[:, 4].copy(),
        v_bul=arr[:, 5].copy(),
        sb_disk=arr[:, 6].copy(),
        sb_bul=arr[:, 7].copy(),
        source=source,
        lines=np.asarray(lines, dtype=np.int64),
        dropped_rows=pd.DataFrame(dropped, columns=["galaxy", "path", "line", "reason"]),
    )


def read_rotmod(path: str | Path, bad_rows: BadRows = "raise") -> Rotmod:
    """Read one ``<Galaxy>_rotmod.dat`` file (see module docstring for format and errors)."""
    p = Path(path)
    try:
        text = decode_text(p.read_bytes(), str(p))
    except TextDecodeError as exc:
        raise RotmodFormatError(p, None, str(exc).removeprefix(f"{p}: ")) from None
    return parse_rotmod_text(text, str(p), bad_rows=bad_rows)


def _iter_sources(path: Path) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    """Yield (galaxy name, source label, bytes loader) for a folder, a zip archive or one file."""
    if path.is_dir():
        for f in path.iterdir():
            if f.is_file() and f.name.endswith(SUFFIX):
                yield galaxy_name_from_path(f), str(f), f.read_bytes
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                base = member.rsplit("/", 1)[-1]
                if base.endswith(SUFFIX) and not base.startswith("._") and "__MACOSX" not in member:
                    yield galaxy_name_from_path(base), f"{path}::{member}", (lambda m=member: zf.read(m))
    elif path.is_file() and path.name.endswith(SUFFIX):
        yield galaxy_name_from_path(path), str(path), path.read_bytes
    else:
        raise FileNotFoundError(f"{path}: not a folder, a zip archive or a *{SUFFIX} file")


def read_rotmod_dir(
    path: str | Path,
    on_error: Literal["raise", "skip"] = "raise",
    bad_rows: BadRows = "raise",
    names: Iterable[str] | None = None,
) -> RotmodSet:
    """Read every ``*_rotmod.dat`` in a folder or a ``Rotmod_LTG.zip`` (a single file also works).

    Returns a :class:`RotmodSet` ordered by galaxy name (C-locale, i.e. plain ``sorted``). With
    ``on_error="skip"`` a bad file is left out and recorded in ``.skipped``; with ``"raise"`` the first bad
    file raises :class:`RotmodFormatError`. ``names`` restricts reading to those galaxies.
    """
    p = Path(path)
    wanted = set(names) if names is not None else None
    found: dict[str, Rotmod] = {}
    skipped: list[dict[str, object]] = []
    for name, source, loader in _iter_sources(p):
        if wanted is not None and name not in wanted:
            continue
        if name in found:
            raise RotmodFormatError(source, None, f"duplicate galaxy {name!r} (also in {found[name].source})")
        try:
            raw = loader()
            try:
                text = decode_text(raw, source)
            except TextDecodeError as exc:
                raise RotmodFormatError(source, None, str(exc).removeprefix(f"{source}: ")) from None
            found[name] = parse_rotmod_text(text, source, name=name, bad_rows=bad_rows)
        except RotmodFormatError as exc:
            if on_error == "raise":
                raise
            skipped.append({"galaxy": name, "path": exc.path, "line": exc.line, "reason": str(exc)})
    if not found and not skipped:
        raise FileNotFoundError(f"{p}: no *{SUFFIX} files found")
    out = RotmodSet((k, found[k]) for k in sorted(found))
    out.skipped = pd.DataFrame(skipped, columns=["galaxy", "path", "line", "reason"])
    frames = [r.dropped_rows for r in out.values() if len(r.dropped_rows)]
    out.dropped_rows = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["galaxy", "path", "line", "reason"])
    )
    return out


def format_rotmod(rm: Rotmod) -> str:
    """Text of a rotmod file in the SPARC layout (comment lines, tab-separated columns, 2 decimals)."""
    buf = io.StringIO()
    if math.isfinite(rm.distance_mpc):  # no distance line when the distance is unknown (NaN)
        buf.write(f"# Distance = {rm.distance_mpc:g} Mpc\n")
    buf.write("# Rad\tVobs\terrV\tVgas\tVdisk\tVbul\tSBdisk\tSBbul\t\t\n")
    buf.write("# kpc\tkm/s\tkm/s\tkm/s\tkm/s\tkm/s\tL/pc^2\tL/pc^2\n")
    cols = (rm.r_kpc, rm.v_obs, rm.e_v, rm.v_gas, rm.v_disk, rm.v_bul, rm.sb_disk, rm.sb_bul)
    for row in zip(*cols, strict=True):
        buf.write("\t".join(f"{v:.2f}" for v in row) + "\n")
    return buf.getvalue()
