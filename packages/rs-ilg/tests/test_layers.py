"""Package shape: the command line is the top layer (no library module imports it), and every subcommand
mistake is a usage error (exit 2) that names the argument."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rs_ilg
from rs_ilg.cli import main

SRC = Path(rs_ilg.__file__).parent


def _imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Absolute names of the modules that ``path`` imports (relative imports resolved against ``package``,
    by default the rs_ilg package the file sits in)."""
    pkg = package.split(".") if package else ["rs_ilg", *path.relative_to(SRC).parent.parts]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def test_no_library_module_imports_the_cli():
    library = [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts]
    assert len(library) > 15
    offenders = {str(p.relative_to(SRC)): sorted(m for m in _imported_modules(p) if m.startswith("rs_ilg.cli"))
                 for p in library}  # fmt: skip
    assert {k: v for k, v in offenders.items() if v} == {}


def test_argparse_lives_only_in_the_cli():
    library = [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts]
    assert [str(p.relative_to(SRC)) for p in library if "argparse" in _imported_modules(p)] == []


def test_the_layer_check_sees_relative_imports(tmp_path):
    """The check above can fail: relative imports of the CLI are resolved to ``rs_ilg.cli``."""
    f = tmp_path / "probe.py"
    f.write_text("from .cli import main\nfrom . import cli\nfrom ..cli._common import opt\n")
    assert {"rs_ilg.cli", "rs_ilg.cli.main"} <= _imported_modules(f, "rs_ilg")  # a top-level module
    assert "rs_ilg.cli._common" in _imported_modules(f, "rs_ilg.features")  # a module of a subpackage


@pytest.mark.parametrize("argv,argument", [
    (["bench1d", "--mock", "0", "--rotmod-dir", "{tmp}/none", "--mode", "corrected"], "--table"),
    (["bench1d", "--rotmod-dir", "{tmp}/missing", "--table", "{tmp}/t.mrt"], "--rotmod-dir"),
    (["bench1d", "--mock", "4", "--subset-csv", "{tmp}/nope.csv"], "--subset-csv"),
    (["run3d", "--mock", "4", "--nx", "2"], "--nx"),
    (["run3d", "--mock", "4", "--features-root", "{tmp}/nope"], "--features-root"),
    (["pilot", "--mode", "corrected"], "--input-csv"),
    (["trends", "--run-dir", "{tmp}/nope", "--features-root", "{tmp}"], "--run-dir"),
])  # fmt: skip
def test_cli_mistakes_are_usage_errors_naming_the_argument(tmp_path, capsys, argv, argument):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--out-dir", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: rs-ilg ") and f"error: argument {argument}:" in err
    assert "Traceback" not in err
