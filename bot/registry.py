"""Job discovery: find the ``Job`` classes on ``JOBGATE_JOBS_PATH`` and in the ``jobgate.jobs`` entry-point group.

Owns ``discover`` and its result (``Discovery``, ``DiscoveredJob``, ``LoadError``). It imports job code and reports
what it found, one line per problem; it writes nothing. Syncing the result to the jobs table is done elsewhere.
Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.

How job modules on a path are imported:

- Every ``*.py`` file and every package directory (with ``__init__.py``) at the top level of each directory is a job
  module; names starting with ``_`` or ``.`` are skipped. The module's public name is its file or directory name.
- Each is imported under a private, unique name (``_jobgate_jobs_<n>_<name>``), so it never clashes with an
  installed package of the same name, nor with a module of the same name in another directory, and so every
  discovery reads the files again (no ``sys.modules`` cache, no bytecode cache: sources are compiled each time and
  no ``__pycache__`` is written into the jobs directory).
- The directories are never put on ``sys.path``: a job module that named its file ``requests.py`` must not shadow
  the real ``requests`` for everyone else. Code shared between job modules therefore lives in a package, imported
  relatively (``from .common import helper``); a plain ``import common`` of a sibling file does not work.
- Entry points are imported normally (they are installed packages); a changed installed package needs a restart.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import itertools
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from bot.code_versions import SourceLoader, file_version, module_version
from bot.jobs import Job, JobInfo, defines_run, job_info

ENTRY_POINT_GROUP = "jobgate.jobs"
NO_RUN_MESSAGE = "defines no run() method"

_PREFIX = "_jobgate_jobs_"
_counter = itertools.count(1)
_lock = threading.Lock()
# (resolved directory, public module name) -> private name of its latest load, still in sys.modules.
_loaded: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class DiscoveredJob:
    """A job class found by discovery.

    Attributes:
        slug: ``<module>.<ClassName>``; the module is its name on the path, or its import path for entry points.
        module_name: the module part of the slug.
        class_name: the class's name.
        job_class: the class itself.
        info: what the class declares (name, flags, variables...).
        source: the file or package directory it came from, or ``entry point <name>``.
        version: the code version: sha256 (hex) of the module's source as imported (for a package, of every ``.py``
            file in it, by path); "" when there is no source file (an entry point without one).
        grouping: the module-level ``name = "…"`` of the job's module, as in Nautobot (it groups jobs in lists);
            "" when the module sets none.
    """

    slug: str
    module_name: str
    class_name: str
    job_class: type[Job]
    info: JobInfo
    source: str
    version: str = ""
    grouping: str = ""


@dataclass(frozen=True)
class LoadError:
    """A job module or class that could not be loaded.

    Attributes:
        module: the module's name (a job's slug for a per-class problem, ``entry point <name>`` for an entry point).
        error: one line, ``"<ExceptionType>: <message>"`` or a sentence; never a traceback.
    """

    module: str
    error: str


@dataclass(frozen=True)
class Discovery:
    """The result of one discovery.

    Attributes:
        jobs: the jobs by slug, sorted by slug.
        errors: the problems, in the order they were met.
    """

    jobs: dict[str, DiscoveredJob]
    errors: list[LoadError]

    def get(self, slug_or_name: str) -> DiscoveredJob | None:
        """Find a job by slug, else by exact name.

        Args:
            slug_or_name: a slug (``maintenance.RebootDevice``) or a job name (``Reboot device``).

        Returns:
            The job, or None when nothing matches or when the name is shared by several jobs (use the slug then).
        """
        job = self.jobs.get(slug_or_name)
        if job is not None:
            return job
        named = [candidate for candidate in self.jobs.values() if candidate.info.name == slug_or_name]
        return named[0] if len(named) == 1 else None


def _spec(fullname: str, location: str, package_dir: str | None = None) -> importlib.machinery.ModuleSpec:
    spec = importlib.util.spec_from_file_location(
        fullname,
        location,
        loader=SourceLoader(fullname, location),
        submodule_search_locations=[package_dir] if package_dir is not None else None,
    )
    if spec is None:  # pragma: no cover - spec_from_file_location only fails without a loader
        raise ImportError(f"cannot import {location}")
    return spec


class _JobPackageFinder(importlib.abc.MetaPathFinder):
    """Finds the submodules of privately named job packages, so relative imports inside them work."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX) or "." not in fullname or path is None:
            return None
        tail = fullname.rpartition(".")[2]
        for entry in path:
            base = os.path.join(entry, tail)
            init = os.path.join(base, "__init__.py")
            if os.path.isfile(init):
                return _spec(fullname, init, base)
            if os.path.isfile(base + ".py"):
                return _spec(fullname, base + ".py")
        return None


_finder = _JobPackageFinder()


def _install_finder() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def _forget(private: str) -> None:
    """Remove a private module and its submodules from ``sys.modules``."""
    for name in [name for name in sys.modules if name == private or name.startswith(private + ".")]:
        del sys.modules[name]


def _one_line(exc: BaseException, *, private: str | None = None, public: str | None = None) -> str:
    """``"<ExceptionType>: <message>"`` on one line, with the private module name replaced by the public one."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if private is not None and public is not None:
        text = text.replace(private, public)
    return " ".join(text.split())


def _import_from_path(
    *, directory: Path, public: str, private: str, location: Path, package_dir: Path | None
) -> ModuleType:
    """Import one job module under a fresh private name, replacing the previous load of the same module.

    Raises:
        Exception: whatever importing the module raised.
    """
    key = (str(directory.resolve()), public)
    previous = _loaded.pop(key, None)
    if previous is not None:
        _forget(previous)
    spec = _spec(private, str(location), str(package_dir) if package_dir is not None else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module  # needed during execution: dataclasses, relative imports, pickling
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]  # _spec always sets the loader
    except BaseException:
        _forget(private)
        raise
    _loaded[key] = private
    return module


def _candidates(directory: Path) -> Iterator[tuple[str, Path, Path | None]]:
    """The job modules in a directory: ``(public name, file to execute, package directory or None)``, by name."""
    for entry in sorted(directory.iterdir(), key=lambda path: path.name):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir():
            init = entry / "__init__.py"
            if init.is_file():
                yield entry.name, init, entry
        elif entry.suffix == ".py" and entry.is_file():
            yield entry.stem, entry, None


def _is_abstract(cls: type[Job]) -> bool:
    """Whether the class's own ``Meta`` says ``abstract = True`` (a base for other jobs, not a job)."""
    meta = cls.__dict__.get("Meta")
    return meta is not None and meta.__dict__.get("abstract", False) is True


def module_grouping(module: ModuleType | None) -> str:
    """A job module's module-level ``name`` (Nautobot's grouping), stripped; "" when it sets none or not a string."""
    name = getattr(module, "name", None) if module is not None else None
    return name.strip() if isinstance(name, str) else ""


def _job_from_class(cls: type[Job], module_name: str, source: str, version: str = "") -> DiscoveredJob | LoadError:
    slug = f"{module_name}.{cls.__name__}"
    if not defines_run(cls):
        return LoadError(module=slug, error=NO_RUN_MESSAGE)
    try:
        info = job_info(cls)
    except (TypeError, ValueError) as exc:  # Meta changed after class creation, which checked it
        return LoadError(module=slug, error=_one_line(exc))
    return DiscoveredJob(
        slug=slug, module_name=module_name, class_name=cls.__name__, job_class=cls, info=info, source=source,
        version=version, grouping=module_grouping(sys.modules.get(cls.__module__)),
    )


def _jobs_in_module(
    module: ModuleType, module_name: str, source: str, version: str = ""
) -> list[DiscoveredJob | LoadError]:
    """The job classes defined in a module (or in its package): not imported ones, not ``_Private`` or abstract."""
    own = module.__name__
    found: list[DiscoveredJob | LoadError] = []
    seen: set[type[Job]] = set()
    for obj in list(vars(module).values()):
        if not isinstance(obj, type) or not issubclass(obj, Job) or obj is Job or obj in seen:
            continue
        seen.add(obj)
        if obj.__module__ != own and not obj.__module__.startswith(own + "."):
            continue
        if obj.__name__.startswith("_") or _is_abstract(obj):
            continue
        found.append(_job_from_class(obj, module_name, source, version))
    return found


def _discover_path(directory: Path) -> Iterator[DiscoveredJob | LoadError]:
    if not directory.is_dir():
        yield LoadError(module=str(directory), error="not a directory of job modules (check JOBGATE_JOBS_PATH)")
        return
    try:
        candidates = list(_candidates(directory))
    except OSError as exc:
        yield LoadError(module=str(directory), error=_one_line(exc))
        return
    for public, location, package_dir in candidates:
        if not public.isidentifier():
            yield LoadError(module=public, error=f"{public!r} is not a valid Python module name; rename it")
            continue
        source = str(package_dir if package_dir is not None else location)
        private = f"{_PREFIX}{next(_counter)}_{public}"
        try:
            module = _import_from_path(
                directory=directory, public=public, private=private, location=location, package_dir=package_dir
            )
        except (Exception, SystemExit) as exc:
            yield LoadError(module=public, error=_one_line(exc, private=private, public=public))
            continue
        yield from _jobs_in_module(module, public, source, module_version(module, package_dir))


def _discover_entry_points() -> Iterator[DiscoveredJob | LoadError]:
    for entry_point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        label = f"entry point {entry_point.name}"
        try:
            target = entry_point.load()
        except (Exception, SystemExit) as exc:
            yield LoadError(module=label, error=_one_line(exc))
            continue
        if isinstance(target, ModuleType):
            yield from _jobs_in_module(target, target.__name__, label, file_version(target.__name__))
        elif isinstance(target, type) and issubclass(target, Job) and target is not Job:
            yield _job_from_class(target, target.__module__, label, file_version(target.__module__))
        else:
            yield LoadError(module=label, error=f"{entry_point.value} is neither a Job subclass nor a module")


def discover(paths: Sequence[Path], *, entry_points: bool = True) -> Discovery:
    """Find every job on ``paths`` and, optionally, in the ``jobgate.jobs`` entry-point group.

    A module that fails to import (any exception, including ``SyntaxError``) is reported with its name and a one-line
    error, and the other modules still load. A job class without ``run()`` is reported under its slug. When two jobs
    have the same slug (the same module name in two directories), the first one found wins and the second is
    reported, naming both sources. Directories are searched in order, then entry points.

    Args:
        paths: directories of job modules.
        entry_points: also load the ``jobgate.jobs`` entry points.

    Returns:
        The jobs by slug and the load errors.
    """
    found: list[DiscoveredJob | LoadError] = []
    with _lock:
        importlib.invalidate_caches()
        _install_finder()
        seen_dirs: set[Path] = set()
        for path in paths:
            directory = Path(path)
            resolved = directory.resolve()
            if resolved in seen_dirs:
                continue
            seen_dirs.add(resolved)
            found.extend(_discover_path(directory))
        if entry_points:
            found.extend(_discover_entry_points())
    jobs: dict[str, DiscoveredJob] = {}
    errors: list[LoadError] = []
    for item in found:
        if isinstance(item, LoadError):
            errors.append(item)
        elif item.slug in jobs:
            first = jobs[item.slug]
            errors.append(
                LoadError(
                    module=item.slug,
                    error=f"duplicate slug: {item.source} is ignored, the job from {first.source} was loaded first",
                )
            )
        else:
            jobs[item.slug] = item
    return Discovery(jobs=dict(sorted(jobs.items())), errors=errors)


class JobCatalog:
    """The job classes this process can run: the last discovery on its paths. Thread-safe to read and reload.

    A module that imported before and stops importing (a syntax error saved by mistake) keeps its last good jobs in
    the catalog: :meth:`reload` reports it in ``held`` (and among the errors) until a good version replaces it.
    :meth:`changed` tells whether any file under the paths changed since the last reload (modification times and
    sizes, polled: cheap enough to ask every couple of seconds).

    Args:
        paths: directories of job modules (``JOBGATE_JOBS_PATH``).
        entry_points: also load the ``jobgate.jobs`` entry points.
    """

    def __init__(self, paths: Sequence[Path] = (), *, entry_points: bool = True) -> None:
        self.paths = tuple(paths)
        self.entry_points = entry_points
        self._lock = threading.Lock()
        self._discovery = Discovery(jobs={}, errors=[])
        self._fingerprint: tuple[tuple[str, int, int], ...] | None = None
        self.held: list[LoadError] = []

    @property
    def discovery(self) -> Discovery:
        """The last discovery (empty before the first :meth:`reload`)."""
        with self._lock:
            return self._discovery

    def reload(self) -> Discovery:
        """Discover the jobs again (see :func:`discover`) and keep the result, holding the last good jobs of modules
        that stopped importing."""
        fingerprint = self.fingerprint()
        found = discover(self.paths, entry_points=self.entry_points)
        with self._lock:
            previous = self._discovery
            jobs = dict(found.jobs)
            held: list[LoadError] = []
            for error in found.errors:
                kept = {slug: job for slug, job in previous.jobs.items()
                        if job.module_name == error.module and slug not in jobs}
                if kept:
                    jobs.update(kept)
                    held.append(error)
            self._discovery = Discovery(jobs=dict(sorted(jobs.items())), errors=found.errors)
            self._fingerprint = fingerprint
            self.held = held
            return self._discovery

    def changed(self) -> bool:
        """Whether a file under the jobs paths was added, removed or modified since the last :meth:`reload`."""
        return self._fingerprint is None or self.fingerprint() != self._fingerprint

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """Every file under the jobs paths (but bytecode caches) with its modification time and size."""
        seen: list[tuple[str, int, int]] = []
        for path in self.paths:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    full = os.path.join(root, name)
                    try:
                        stat = os.stat(full)
                    except OSError:
                        continue
                    seen.append((full, stat.st_mtime_ns, stat.st_size))
        return tuple(seen)

    def get(self, slug: str) -> DiscoveredJob | None:
        """The job class with this slug, if the last discovery found it."""
        return self.discovery.jobs.get(slug)
