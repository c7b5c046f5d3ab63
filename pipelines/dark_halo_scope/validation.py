"""Every parameter validated when a run starts, before the first node, against the packages' configuration types.

The registry is generic: each pipeline module ``dark_halo_scope.pipelines.<name>`` may expose ``PARAMETERS``, a
mapping of a parameter key (a top-level section or a dotted sub-key, e.g. ``"glens.quality"``) to its type —
a pydantic model, a (pydantic or standard) dataclass, any type pydantic's ``TypeAdapter`` accepts, the same as a
``"module:attribute"`` string (imported only when validating, so ``kedro registry list`` stays fast), or a
callable ``validate(value)`` that raises ``ValueError``/``TypeError``. This module adds the project's own
section (``project``). :func:`validate_parameters` checks every registered key, and refuses a top-level section
that is neither registered nor read by any registered pipeline (a misspelt section name).

Every problem is reported at once, each with the parameter's full key and, where they are finite, the allowed
values or keys.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class ProjectSettings(BaseModel):
    """``project:`` in ``conf/base/parameters.yml``: how the run record treats problems.

    Attributes
    ----------
    strict : bool
        A node output named ``*skipped`` with any row (an input left out, with its reason) fails the run
        instead of being listed in the end-of-run summary.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    strict: bool = Field(default=False, strict=True)


PROJECT_PARAMETERS: dict[str, Any] = {"project": ProjectSettings}


class ParameterError(ValueError):
    """One or more parameters do not match their configuration type; the message lists each full key."""


def collect_registry(package: str = "dark_halo_scope.pipelines") -> dict[str, Any]:
    """``PARAMETERS`` of every pipeline module under ``package``, plus the project's own sections."""
    registry = dict(PROJECT_PARAMETERS)
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name is None or not package.startswith(exc.name):
            raise
        return registry
    for info in pkgutil.iter_modules(root.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        for key, spec in getattr(module, "PARAMETERS", {}).items():
            if key in registry and registry[key] is not spec:
                raise ParameterError(f"parameter key '{key}' is registered twice (second time by {module.__name__})")
            registry[key] = spec
    return registry


def _resolve(spec: Any) -> Any:
    if isinstance(spec, str):
        module, _, attr = spec.partition(":")
        return getattr(importlib.import_module(module), attr)
    return spec


def _fields(tp: Any) -> dict[str, Any] | None:
    """Field name → annotation of a model/dataclass type (``None`` for other types)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: f.annotation for name, f in tp.model_fields.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(tp) if f.init}
    return None


def _unknown_keys(tp: Any, value: Any, key: str) -> list[str]:
    """Keys of ``value`` that ``tp`` (recursively through model/dataclass fields) does not declare."""
    fields = _fields(tp)
    if fields is None or not isinstance(value, Mapping):
        return []
    problems = []
    for name, sub in value.items():
        if name not in fields:
            problems.append(f"{key}.{name}: unknown key; allowed keys: {', '.join(sorted(fields))}")
            continue
        for arg in (fields[name], *typing.get_args(fields[name])):
            problems += _unknown_keys(arg, sub, f"{key}.{name}")
    return problems


def _describe_error(error: Mapping[str, Any], key: str) -> str:
    loc = ".".join(str(p) for p in error["loc"] if p not in ("function-after", "function-before"))
    full = f"{key}.{loc}" if loc else key
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    text = f"{full}: {message} (got {error.get('input')!r})"
    expected = (error.get("ctx") or {}).get("expected")
    if expected and "expected" not in message:
        text += f"; allowed: {expected}"
    return text


def check(spec: Any, value: Any, key: str) -> list[str]:
    """Problems of ``value`` as parameter ``key`` against ``spec`` (empty when it validates)."""
    tp = _resolve(spec)
    if _fields(tp) is None and callable(tp) and not isinstance(tp, type):
        try:
            tp(value)
        except (ValueError, TypeError) as exc:
            return [f"{key}: {exc}"]
        return []
    problems = _unknown_keys(tp, value, key)
    try:
        TypeAdapter(tp).validate_python(value)
    except ValidationError as exc:
        problems += [_describe_error(e, key) for e in exc.errors() if e["type"] != "extra_forbidden"]
    except (ValueError, TypeError) as exc:  # a dataclass's __post_init__ check
        problems.append(f"{key}: {exc}")
    return sorted(set(problems))


def _lookup(params: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    value: Any = params
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def validate_parameters(params: Mapping[str, Any], registry: Mapping[str, Any], read_sections: Iterable[str]) -> None:
    """Raise :class:`ParameterError` listing every problem of ``params``.

    Parameters
    ----------
    params : mapping
        The run's parameters (``context.params``: every environment merged, runtime ``--params`` applied).
    registry : mapping
        Parameter key → type or validator (:func:`collect_registry`).
    read_sections : iterable of str
        Top-level sections some registered pipeline reads (``params:<section>...``); a section neither read
        nor registered is refused as unknown.
    """
    read = set(read_sections)
    known = {k.split(".")[0] for k in registry} | read
    problems = [
        f"{section}: unknown parameter section; known sections: {', '.join(sorted(known))}"
        for section in params
        if section not in known
    ]
    for key, spec in sorted(registry.items()):
        present, value = _lookup(params, key)
        if present:
            problems += check(spec, value, key)
    if problems:
        raise ParameterError(
            f"{len(problems)} invalid parameter(s) (conf/*/parameters*.yml or --params); nothing was run:\n  "
            + "\n  ".join(problems)
        )


def read_sections(pipelines: Mapping[str, Any]) -> set[str]:
    """Top-level parameter sections read by the nodes of ``pipelines`` (``params:a.b`` → ``a``)."""
    sections = set()
    for pipeline in pipelines.values():
        for name in pipeline.inputs() | {i for n in pipeline.nodes for i in n.inputs}:
            if name.startswith("params:"):
                sections.add(name.removeprefix("params:").split(".")[0])
    return sections

