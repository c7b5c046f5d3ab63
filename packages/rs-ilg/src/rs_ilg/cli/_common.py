"""What every ``rs-ilg`` subcommand shares: both option spellings, the input options and their loading,
the run-folder writer, and :class:`CLIError` (a usage error that names the argument at fault)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomicio import write_json, write_text
from ..master import Master, build_master, population, subset_names
from ..modes import ModeConfig
from ..report import summary_stats
from ..rotmod import read_rotmod_dir
from ..table import read_sparc_table


class CLIError(Exception):
    """A usage error: ``argument`` (e.g. ``"--table"``, or ``None`` when no single option is at fault) and
    the message. :func:`rs_ilg.cli.main` prints it with the subcommand's usage and exits with status 2."""

    def __init__(self, argument: str | None, message: str) -> None:
        self.argument = argument
        super().__init__(f"argument {argument}: {message}" if argument else message)


@contextmanager
def blame(argument: str) -> Iterator[None]:
    """Turn an input error (``ValueError``, ``KeyError``, ``OSError``) raised while reading what ``argument``
    points at into a :class:`CLIError` naming ``argument``."""
    try:
        yield
    except CLIError:
        raise
    except (ValueError, KeyError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise CLIError(argument, str(msg)) from None


def opt(*names: str) -> list[str]:
    """Option strings in both spellings: ``--ml-disk`` and ``--ml_disk`` (the original scripts' spelling)."""
    out: list[str] = []
    for n in names:
        for v in (n, "--" + n[2:].replace("-", "_") if n.startswith("--") else n):
            if v not in out:
                out.append(v)
    return out


def add_input_arguments(p: argparse.ArgumentParser, *, limit: bool = True, default_subset: str = "q1") -> None:
    """Input options shared by the subcommands: data, mode, cohort, output folder, progress bar."""
    g = p.add_argument_group("inputs")
    g.add_argument(*opt("--rotmod-dir"), dest="rotmod_dir", help="folder of *_rotmod.dat files, or Rotmod_LTG.zip")
    g.add_argument("--table", help="SPARC galaxy table (.mrt); required by --mode corrected")
    g.add_argument(*opt("--mock"), dest="mock", type=int, default=0, metavar="N",
                   help="use N mock galaxies (written under OUT_DIR/mock_input) instead of --rotmod-dir")  # fmt: skip
    g.add_argument(*opt("--mock-seed"), dest="mock_seed", type=int, default=0)
    g.add_argument("--mode", choices=["compat", "corrected"], default="compat")
    g.add_argument(*opt("--subset"), dest="subset", choices=["q1", "full", "all"], default=default_subset,
                   help="cohort: q1 (the '156' rule in compat), full (>= 5 points) or all galaxies")  # fmt: skip
    g.add_argument(*opt("--subset-csv"), dest="subset_csv", default="",
                   help="CSV with a 'name' or 'galaxy' column (overrides --subset)")  # fmt: skip
    g.add_argument(*opt("--bad-rows"), dest="bad_rows", choices=["raise", "drop"], default="raise",
                   help="rows with Rad, Vobs or errV <= 0: stop with an error, or drop and record them")  # fmt: skip
    g.add_argument(*opt("--on-missing"), dest="on_missing", choices=["raise", "skip"], default="raise",
                   help="galaxy absent from the table (corrected mode): stop, or skip and record")  # fmt: skip
    if limit:
        g.add_argument("--limit", type=int, default=0, help="first N galaxies of the cohort (0 = all)")
    p.add_argument(*opt("--out-dir"), dest="out_dir", required=True)
    p.add_argument(*opt("--no-progress"), dest="progress", action="store_false", help="hide progress bars")


def read_name_csv(path: str | Path, argument: str) -> list[str]:
    """Galaxy names from a CSV with a ``name`` or ``galaxy`` column (the original ``--subset_csv``)."""
    with blame(argument):
        df = pd.read_csv(path)
    for col in ("name", "galaxy", "Galaxy"):
        if col in df.columns:
            return [str(x) for x in df[col].tolist()]
    raise CLIError(argument, f"{path}: needs a 'name' or 'galaxy' column (has {list(df.columns)})")


def read_value_csv(path: str | Path, value_cols: Sequence[str], argument: str) -> dict[str, float]:
    """``{galaxy: value}`` from a CSV with a galaxy/name column and the first present of ``value_cols``."""
    with blame(argument):
        df = pd.read_csv(path)
    key = next((c for c in ("galaxy", "name", "Galaxy") if c in df.columns), None)
    val = next((c for c in value_cols if c in df.columns), None)
    if key is None or val is None:
        raise CLIError(argument, f"{path}: needs a galaxy/name column and one of {list(value_cols)} "
                                 f"(has {list(df.columns)})")  # fmt: skip
    out = {}
    for i, (k, v) in enumerate(zip(df[key], df[val], strict=True)):
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise CLIError(argument, f"{path}: row {i + 2}, column {val}: {v!r} is not a number") from None
    return out


def load_master(args: argparse.Namespace, mode: ModeConfig) -> Master:
    """The master table from ``--rotmod-dir``/``--table`` (or ``--mock N``), with dropped rows recorded."""
    if args.mock:
        from ..mock import write_mock_sparc

        rot_dir, table_path = write_mock_sparc(Path(args.out_dir) / "mock_input", args.mock, args.mock_seed)
        rotmod_dir, table = str(rot_dir), str(table_path)
    else:
        if not args.rotmod_dir:
            raise CLIError("--rotmod-dir", "give --rotmod-dir (a folder or Rotmod_LTG.zip) or --mock N")
        rotmod_dir, table = args.rotmod_dir, args.table
    if table is None and mode.needs_galaxy_table:
        raise CLIError("--table", f"required by --mode {args.mode} (the mode reads catalog R_d, MHI or Q)")
    with blame("--rotmod-dir"):
        rotmods = read_rotmod_dir(rotmod_dir, bad_rows=getattr(args, "bad_rows", "raise"))
    with blame("--table"):
        tab = read_sparc_table(table) if table else None
        master = build_master(rotmods, tab, mode, on_missing=getattr(args, "on_missing", "raise"))
    if len(rotmods.dropped_rows):
        dropped = rotmods.dropped_rows.assign(
            reason=lambda d: "row dropped: line " + d["line"].astype(str) + ": " + d["reason"])[["galaxy", "reason"]]
        master.skipped = pd.concat([master.skipped, dropped], ignore_index=True)
    return master


def load_inputs(args: argparse.Namespace) -> tuple[Master, list[str], ModeConfig]:
    """(master table, cohort names in master order, mode) from the options of :func:`add_input_arguments`."""
    mode = ModeConfig.from_name(args.mode)
    master = load_master(args, mode)
    if args.subset_csv:
        wanted = read_name_csv(args.subset_csv, "--subset-csv")
        missing = sorted(set(wanted) - set(master))
        if missing:
            raise CLIError("--subset-csv", f"{args.subset_csv}: galaxies not in the master table: {missing}")
        names = population(master, wanted)
    elif args.subset == "all":
        names = list(master)
    else:
        names = subset_names(master, mode, "Q1" if args.subset == "q1" else "FULL")
    if getattr(args, "limit", 0):
        names = names[: args.limit]
    return master, names, mode


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as a plain dict (for ``run.json``)."""
    return {k: v for k, v in vars(args).items() if k != "func"}


def write_run(
    out_dir: str | Path,
    summary: pd.DataFrame,
    points_by_galaxy: Mapping[str, pd.DataFrame],
    *,
    tag: str,
    baselines: pd.DataFrame | None = None,
    skipped: pd.DataFrame | None = None,
    run_info: Mapping[str, Any] | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write a run folder: summary.csv (galaxy, N, chi2_over_N), baselines.csv, <Galaxy>_<tag>.csv,
    skipped.csv, run.json and any ``extra_tables`` (file name -> frame). Each file is written atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "summary.csv", summary[["galaxy", "N", "chi2_over_N"]].to_csv(index=False))
    if baselines is not None:
        write_text(out / "baselines.csv", baselines.to_csv(index=False))
        write_text(out / "baselines_stats.csv", summary_stats(baselines).to_csv())
    for name, df in points_by_galaxy.items():
        write_text(out / f"{name}_{tag}.csv", df.to_csv(index=False))
    if skipped is not None:
        write_text(out / "skipped.csv", skipped.to_csv(index=False))
    for fname, df in (extra_tables or {}).items():
        write_text(out / fname, df.to_csv(index=False))
    if run_info is not None:
        write_json(out / "run.json", jsonable(run_info))
    return out


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays as Python values and non-finite floats as ``None``."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def print_medians(what: str, table: pd.DataFrame, out_dir: str | Path) -> None:
    """One line: galaxies, median and mean chi2/N of the model, Newtonian and MOND medians on the same points."""
    st = summary_stats(table)
    print(f"{what}: {len(table)} galaxies; median chi2/N = {st.loc['median', 'chi2_over_N']:.4f}, "
          f"mean = {st.loc['mean', 'chi2_over_N']:.4f} (Newtonian {st.loc['median', 'chi2_over_N_newton']:.4f}, "
          f"MOND {st.loc['median', 'chi2_over_N_mond']:.4f} on the same points) -> {out_dir}")  # fmt: skip
