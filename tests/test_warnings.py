"""A normal run prints no warning of the project's own making.

Static checks cover every pipeline (what Kedro would warn about when it builds or validates them); one small run
(``dhs_inject``) and ``kedro registry list`` check the log: no Python warning points into the project's code
(the Kedro package or the five libraries), and the third-party ones ``settings.py`` silences stay silent.
"""

from __future__ import annotations

import re
import typing

import pytest

from dark_halo_scope.pipeline_registry import register_pipelines

from .conftest import Project

#: path fragments of the project's own code: the Kedro package and the five libraries
OURS = ("/dark_halo_scope/", "/rs_ilg/", "/glens_sim/", "/dhs_inject/", "/dhs_train/", "/dhs_gates/")
#: a Python warning as Kedro's logging prints it: ``<file>.py:<line>: <Category>: <message>``
WARNING = re.compile(r"(\S+\.py):\d+: (\w*Warning): (.*)")


def own_warnings(log: str) -> list[str]:
    return [m.group(0) for m in WARNING.finditer(log) if any(part in m.group(1) for part in OURS)]


def test_own_warnings_are_found() -> None:
    log = ("WARNING  /x/pipelines/dark_halo_scope/pipelines/glens/nodes.py:12: UserWarning: bad\n"
           "WARNING  /x/site-packages/mlflow/pyfunc/utils/data_validation.py:187: UserWarning: theirs")  # fmt: skip
    assert own_warnings(log) == ["/x/pipelines/dark_halo_scope/pipelines/glens/nodes.py:12: UserWarning: bad"]


@pytest.mark.parametrize("name", sorted(register_pipelines()))
def test_nodes_are_namespaced_and_write_their_own_datasets(name: str) -> None:
    """What Kedro's dotted-name warning is for: a dotted dataset belongs to the namespace of the node writing it."""
    for node in register_pipelines()[name].nodes:
        assert node.namespace, f"node '{node.name}' is in no namespace"
        top = node.namespace.split(".")[0]
        foreign = [o for o in node.outputs if "." in o and not o.startswith(f"{top}.")]
        assert not foreign, f"node '{node.name}' (namespace {node.namespace}) writes {foreign}"


@pytest.mark.parametrize("name", sorted(register_pipelines()))
def test_node_type_hints_resolve(name: str) -> None:
    """Kedro resolves every node's type hints when it validates parameters, and warns for each it cannot."""
    for node in register_pipelines()[name].nodes:
        try:
            typing.get_type_hints(node.func)
        except Exception as exc:  # what Kedro's TypeExtractor catches and logs
            pytest.fail(f"type hints of node '{node.name}' ({node.func.__module__}.{node.func.__name__}): {exc!r}")


def test_a_run_prints_no_own_warning(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one log record per line, paths unwrapped
    for args in (("registry", "list"), ("run", "--pipelines", "dhs_inject")):
        proc = project.kedro(*args)
        log = proc.stdout + proc.stderr
        assert not own_warnings(log), own_warnings(log)
        unresolved = [line.strip() for line in log.splitlines() if "Could not extract type hints" in line]
        assert not unresolved, unresolved
        for silenced in ("register_new_resolver() is deprecated", "One or more dataset names contain '.'"):
            assert silenced not in log, f"kedro {' '.join(args)}: '{silenced}' is back"
