"""The code version of a job's module, as discovery records it (sha256 of exactly the source it compiled).

A module loaded from a jobs folder is versioned by the bytes its loader compiled; a package by every ``.py`` file in
it; an installed module (an entry point's) by its source file. ``bot.domain.versions`` compares versions.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import os
import sys
from pathlib import Path
from types import CodeType, ModuleType


class SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the source every time: no bytecode cache is read or written, so an edited file is always seen."""

    digest: str = ""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        data = self.get_data(path)
        self.digest = hashlib.sha256(data).hexdigest()  # the version of exactly the bytes compiled
        return self.source_to_code(data, path)


def package_version(package_dir: Path) -> str:
    """The code version of a job package: sha256 over every ``.py`` file in it (relative path, then bytes)."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def module_version(module: ModuleType, package_dir: Path | None) -> str:
    """The code version of a module just imported from a path (see ``DiscoveredJob.version``)."""
    if package_dir is not None:
        try:
            return package_version(package_dir)
        except OSError:
            return ""
    loader = getattr(module.__spec__, "loader", None)
    return loader.digest if isinstance(loader, SourceLoader) else ""


def file_version(module_name: str) -> str:
    """The code version of an installed module (an entry point's): sha256 of its source file, or ""."""
    module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None)
    if not filename:
        return ""
    try:
        if os.path.basename(filename) == "__init__.py":
            return package_version(Path(filename).parent)
        return hashlib.sha256(Path(filename).read_bytes()).hexdigest()
    except OSError:
        return ""
