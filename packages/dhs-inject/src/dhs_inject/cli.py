"""``dhs-inject``: the injection system without Kedro (the same functions the ``dhs_inject`` pipeline calls).

::

    dhs-inject bricks data/survey --synthetic --lrg-catalogue parent.parquet --n-bricks 8
    dhs-inject splits parent.parquet --survey data/survey -o splits.parquet --guard-deg 0.25
    dhs-inject manifest data/survey -o manifest.parquet --set tier=train --set replicates=3
    dhs-inject inject manifest.parquet --survey data/survey -o store/ --runner dask
    dhs-inject verify store/ --manifest manifest.parquet

Configuration: ``--config FILE`` (JSON, or YAML if PyYAML is installed) and ``--set key=value`` (dotted keys
for nested fields, values parsed as JSON where they parse) fill the package's validated configuration types
(:class:`~dhs_inject.manifest.ManifestConfig`, :class:`~dhs_inject.kernel.InjectConfig`, …). Usage errors
(a missing file, an unknown or invalid field) exit with status 2 and name the argument; a failed ``verify``
exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["main"]


class _Usage(Exception):
    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"argument {argument}: {message}")


def _existing(path: str, argument: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise _Usage(argument, f"'{path}' does not exist")
    return p


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--config`` then ``--set`` overrides, as a nested dict."""
    values: dict[str, Any] = {}
    if args.config:
        path = _existing(args.config, "--config")
        text = path.read_text()
        try:
            if path.suffix in (".yml", ".yaml"):
                import yaml

                values = yaml.safe_load(text) or {}
            else:
                values = json.loads(text)
        except Exception as exc:  # noqa: BLE001 - any decoding problem is a usage error naming the file
            raise _Usage("--config", f"cannot read '{path}': {exc}") from exc
        if not isinstance(values, dict):
            raise _Usage("--config", f"'{path}' must hold a mapping of fields")
    for item in args.set or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise _Usage("--set", f"expected key=value, got '{item}'")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = values
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return values


def _build(model: type[BaseModel], values: dict[str, Any], argument: str) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _Usage(argument, problems) from exc
    except ValueError as exc:
        raise _Usage(argument, str(exc)) from exc


def _cmd_bricks(args: argparse.Namespace) -> int:
    from dhs_inject.bricks import read_bricks_table
    from dhs_inject.survey import write_embedded_survey
    from dhs_inject.synthetic import BRICKS_TABLE_NAME

    root = Path(args.root)
    if args.synthetic:
        if not args.lrg_catalogue:
            raise _Usage("--lrg-catalogue", "required with --synthetic (hosts take its real photometry)")
        _existing(args.lrg_catalogue, "--lrg-catalogue")
        write_embedded_survey(root, lrg_catalogue=args.lrg_catalogue, n_bricks=args.n_bricks, seed=args.seed,
                              lrgs_per_brick=args.lrgs_per_brick, brick_pix=args.brick_pix)  # fmt: skip
    table = read_bricks_table(_existing(str(root / BRICKS_TABLE_NAME), "root"))
    print(table.to_csv(index=False), end="")
    return 0


def _cmd_splits(args: argparse.Namespace) -> int:
    import pandas as pd

    from dhs_inject.bricks import brick_rows
    from dhs_inject.lrg import read_lrg_catalogue
    from dhs_inject.splits import SplitConfig, assign_splits
    from dhs_inject.survey import read_survey

    catalogue = read_lrg_catalogue(_existing(args.catalogue, "catalogue"))
    survey = read_survey(_existing(args.survey, "--survey"), lrg_catalogue=args.catalogue)
    cfg = _build(SplitConfig, _settings(args), "--config/--set")
    centres = brick_rows(survey.bricks, catalogue["BRICKNAME"])
    splits = assign_splits(catalogue["RA"], catalogue["DEC"], cfg, brick_ra_deg=centres["ra"], brick_dec_deg=centres["dec"])
    out = pd.concat([catalogue.reset_index(drop=True), splits], axis=1)
    out.to_parquet(args.output, index=False)
    kept = out[out["guard_ok"]]
    print(json.dumps({"rows": len(out), "kept": len(kept), "per_split": kept["split"].value_counts().to_dict()}))
    return 0


def _cmd_manifest(args: argparse.Namespace) -> int:
    from dhs_inject.manifest import ManifestConfig, build_manifest
    from dhs_inject.survey import read_survey

    survey = read_survey(_existing(args.survey, "survey"), lrg_catalogue=args.lrg_catalogue)
    cfg = _build(ManifestConfig, _settings(args), "--config/--set")
    manifest = build_manifest(survey.lrgs, survey.bricks, cfg)
    manifest.to_parquet(args.output, index=False)
    counts = manifest.groupby(["split", "label"]).size()
    print(json.dumps({"rows": len(manifest), "per_split_label": {f"{s}/{lab}": int(n) for (s, lab), n in counts.items()}}))
    return 0


def _cmd_inject(args: argparse.Namespace) -> int:
    import pandas as pd

    from dhs_inject.kernel import InjectConfig
    from dhs_inject.runners import InjectionJob, RunnerConfig

    manifest = pd.read_parquet(_existing(args.manifest, "manifest"))
    survey = _existing(args.survey, "--survey")
    cfg = _build(InjectConfig, _settings(args), "--config/--set")
    runner = _build(RunnerConfig, {"runner": args.runner, "workers": args.workers, "n_workers": args.n_workers,
                                   "scheduler_address": args.scheduler, "part_rows": args.part_rows,
                                   "progress": not args.quiet}, "--runner")  # fmt: skip
    summary = InjectionJob(manifest, cfg, str(survey), runner).write(args.output)
    print(json.dumps(summary.as_dict()))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    import pandas as pd

    from dhs_inject.store import verify_store

    manifest = pd.read_parquet(_existing(args.manifest, "--manifest")) if args.manifest else None
    report = verify_store(_existing(args.store, "store"), manifest)
    print(json.dumps(report, indent=2, default=str))
    return 0 if report["ok"] else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dhs-inject", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="JSON (or YAML) file of configuration fields")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one field (repeatable)")

    p = sub.add_parser("bricks", help="write synthetic bricks (--synthetic) and/or print a survey's bricks table")
    p.add_argument("root", help="survey folder (coadd/<ddd>/<brick>/ and the survey-bricks table)")
    p.add_argument("--synthetic", action="store_true", help="write synthetic bricks hosting real LRG photometry")
    p.add_argument("--lrg-catalogue", help="LRG parent catalogue (photometry of the synthetic hosts)")
    p.add_argument("--n-bricks", type=int, default=8)
    p.add_argument("--lrgs-per-brick", type=int, default=40)
    p.add_argument("--brick-pix", type=int, default=480)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_bricks)

    p = sub.add_parser("splits", help="HEALPix region-disjoint splits (with guard band) of an LRG catalogue")
    p.add_argument("catalogue", help="LRG catalogue (RA, DEC, BRICKNAME)")
    p.add_argument("--survey", required=True, help="survey folder whose bricks table holds the catalogue's bricks")
    p.add_argument("-o", "--output", required=True, help="output parquet (catalogue + healpix, split, guard_ok)")
    config_args(p)
    p.set_defaults(func=_cmd_splits)

    p = sub.add_parser("manifest", help="build the injection manifest (splits, design, controls, parameters)")
    p.add_argument("survey", help="survey folder")
    p.add_argument("--lrg-catalogue", help="LRG catalogue (default <survey>/lrg-hosts.parquet)")
    p.add_argument("-o", "--output", required=True, help="output parquet")
    config_args(p)
    p.set_defaults(func=_cmd_manifest)

    p = sub.add_parser("inject", help="render a manifest into a stamp store (resumable)")
    p.add_argument("manifest", help="manifest parquet")
    p.add_argument("--survey", required=True, help="survey folder holding the manifest's bricks")
    p.add_argument("-o", "--output", required=True, help="stamp store folder")
    p.add_argument("--runner", choices=["local", "dask"], default="local")
    p.add_argument("--workers", type=int, help="local processes (default: every core)")
    p.add_argument("--n-workers", type=int, default=2, help="LocalCluster workers (dask without --scheduler)")
    p.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--part-rows", type=int, default=256)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    config_args(p)
    p.set_defaults(func=_cmd_inject)

    p = sub.add_parser("verify", help="check a store: parts readable, no duplicate, no gap, paired integrity")
    p.add_argument("store", help="stamp store folder")
    p.add_argument("--manifest", help="manifest parquet the store must match exactly")
    p.set_defaults(func=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dhs-inject`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _Usage as exc:
        parser.error(str(exc))  # exits 2
    return 2  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    sys.exit(main())
