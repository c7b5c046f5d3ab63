"""Shared machinery for the project's file datasets: fsspec paths, versioning, atomic local writes (``..atomic``)."""

from __future__ import annotations

import io
from abc import abstractmethod
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version, get_filepath_str, get_protocol_and_path

from ..atomic import AtomicLocalFileSystem


class FileDataset(AbstractVersionedDataset[Any, Any]):
    """A versionable dataset stored as one file, read and written through ``fsspec``.

    Subclasses implement :meth:`_read` (bytes → object) and :meth:`_write` (object → bytes).
    Local saves are atomic (:class:`dark_halo_scope.atomic.AtomicLocalFileSystem`): the bytes go to a temporary
    file beside the target, renamed over it only when complete, so a killed run never leaves a half-written file
    under the catalog's name; the final file respects the umask.
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        fs_args = deepcopy(fs_args) or {}
        protocol, path = get_protocol_and_path(filepath, version)
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        if protocol == "file":
            self._fs = AtomicLocalFileSystem(**fs_args)
        else:
            self._fs = fsspec.filesystem(protocol, **(deepcopy(credentials) or {}), **fs_args)
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    @abstractmethod
    def _read(self, buffer: io.BytesIO) -> Any:
        """Decode the file's bytes."""

    @abstractmethod
    def _write(self, data: Any, buffer: io.BytesIO) -> None:
        """Encode ``data`` into ``buffer``."""

    def load(self) -> Any:
        path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(path, mode="rb") as fh:
            payload = io.BytesIO(fh.read())
        try:
            return self._read(payload)
        except Exception as exc:  # name the file in every decoding error
            raise DatasetError(f"{type(self).__name__}: cannot read '{path}': {exc}") from exc

    def save(self, data: Any) -> None:
        path = get_filepath_str(self._get_save_path(), self._protocol)
        buffer = io.BytesIO()
        self._write(data, buffer)
        with self._fs.open(path, mode="wb") as fh:
            fh.write(buffer.getvalue())
        self._invalidate_cache()

    def _exists(self) -> bool:
        try:
            path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(path)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "load_args": self._load_args,
            "save_args": self._save_args,
            "version": self._version,
        }

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        filepath = get_filepath_str(self._filepath, self._protocol)
        self._fs.invalidate_cache(filepath)
