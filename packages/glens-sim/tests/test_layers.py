"""Package shape: imports cost what they use; the command line is the top layer."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import glens_sim

SRC = Path(glens_sim.__file__).resolve().parent

#: The MaNGA path: reading, quality, lensability, ranking, source tensors (no torch).
MANGA_MODULES = ("maps_io", "quality", "lensability", "ranking", "sample", "sources", "synthetic")
#: The lens core and its configuration (no matplotlib, pandas or astropy), with the lens-core
#: modules that exist in this checkout.
LENS_CORE = tuple(
    m for m in ("config", "validation", "profiles", "raytrace", "psf", "grid", "light", "render",
                "lensing", "hessian")
    if importlib.util.find_spec(f"glens_sim.{m}") is not None
)


def _loaded_after(modules: tuple[str, ...], watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has in ``sys.modules`` after importing ``modules``."""
    code = (
        "import json, sys\n"
        + "".join(f"import glens_sim.{m}\n" for m in modules)
        + f"print(json.dumps([w for w in {list(watched)!r} if w in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_reading_maps_does_not_import_torch():
    """``import glens_sim.maps_io`` (and the whole MaNGA path) leaves torch out of ``sys.modules``;
    astropy, which these modules do use, shows the check sees what is imported."""
    assert "maps_io" in MANGA_MODULES
    assert _loaded_after(MANGA_MODULES, ("torch", "astropy")) == ["astropy"]


def test_lens_core_imports_no_plotting_tables_or_fits():
    """The lens core imports torch (which the check sees) but not matplotlib, pandas or astropy."""
    assert {"profiles", "raytrace", "psf"} <= set(LENS_CORE)
    assert _loaded_after(LENS_CORE, ("matplotlib", "pandas", "astropy", "torch")) == ["torch"]


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    package = ".".join(("glens_sim", *path.relative_to(SRC).parent.parts)).rstrip(".")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def test_no_library_module_imports_the_cli():
    cli = SRC / "cli"
    library = [p for p in SRC.rglob("*.py") if cli not in p.parents]
    assert len(library) > 10
    offenders = {
        str(p.relative_to(SRC)): sorted(n for n in _imports(p) if n == "glens_sim.cli" or n.startswith("glens_sim.cli."))
        for p in library
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_ast_check_resolves_relative_imports(tmp_path):
    assert "glens_sim.cli._common" in _imports(SRC / "cli" / "maps.py")  # ``from ._common import ...``
    assert "glens_sim.atomic" in _imports(SRC / "training.py")  # ``from .atomic import ...``


def test_lazy_top_level_names():
    for name in glens_sim.__all__:
        assert getattr(glens_sim, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        glens_sim.no_such_name  # noqa: B018
