"""Executors for panel runs: serial, local processes, any concurrent.futures Executor, or a Dask Client.

:func:`map_tasks` applies a module-level function to a list of argument tuples and returns the
outputs in the order of the tasks, whatever runs them:

- ``executor=None`` or ``"processes"``: a :class:`concurrent.futures.ProcessPoolExecutor` created
  for the call and shut down after it, with :func:`default_workers` processes (at most one per task);
- ``"serial"``: in this process, one task after the other;
- a :class:`concurrent.futures.Executor` instance (process or thread pool): used as given, not
  shut down;
- a ``dask.distributed.Client`` (recognised by its ``submit``/``map``/``gather`` methods, so dask is
  never imported here): tasks are submitted with ``pure=False`` and gathered in order.

In every worker *process* other than the caller's, BLAS thread pools are limited to one thread before
the first task runs (small matrices, many fits: threads only contend with the processes); the
caller's own process is left alone (``"serial"``, thread pools, ``LocalCluster(processes=False)``).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import multiprocessing.context
import os
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExecutorError

#: Environment variables read by OpenBLAS, OpenMP, MKL, Accelerate and numexpr at start-up.
BLAS_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                 "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Names of the thread-count setter in the OpenBLAS builds numpy and scipy ship (and plain OpenBLAS).
_OPENBLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads")
_limited_pid: int | None = None


def _process_context() -> multiprocessing.context.BaseContext:
    """Workers started by a fork server (POSIX) or spawned (elsewhere): never a plain fork of this
    process, whose pyarrow and BLAS threads could leave a forked child deadlocked."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def default_workers() -> int:
    """Processes for the default pool: the CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def is_dask_client(executor: object) -> bool:
    """True for objects that look like a ``dask.distributed.Client`` (``submit``, ``map``, ``gather``)."""
    return not isinstance(executor, cf.Executor) and all(
        callable(getattr(executor, name, None)) for name in ("submit", "map", "gather"))


def check_executor(executor: object, max_workers: int | None = None) -> None:
    """Raise :class:`ExecutorError` unless `executor` and `max_workers` are usable by :func:`map_tasks`."""
    if max_workers is not None and (not isinstance(max_workers, int) or isinstance(max_workers, bool)
                                    or max_workers < 1):
        raise ExecutorError(f"max_workers must be a positive integer, got {max_workers!r}")
    if executor is None or isinstance(executor, cf.Executor) or is_dask_client(executor):
        return
    if isinstance(executor, str):
        if executor in ("serial", "processes"):
            return
        raise ExecutorError(f"executor {executor!r} is not known; use None or 'processes' (local "
                            f"processes), 'serial', a concurrent.futures.Executor or a dask Client")
    raise ExecutorError(f"executor of type {type(executor).__name__} is not usable: pass None, "
                        f"'serial', 'processes', a concurrent.futures.Executor, or an object with "
                        f"submit/map/gather methods (a dask.distributed.Client)")


def describe(executor: object, n_tasks: int | None = None, max_workers: int | None = None) -> str:
    """A short label of the executor, e.g. ``"processes (2 workers)"`` or ``"dask Client(...)"``."""
    if executor == "serial":
        return "serial"
    if executor is None or executor == "processes":
        workers = max_workers or default_workers()
        if n_tasks is not None:
            workers = max(1, min(workers, n_tasks))
        return f"processes ({workers} workers)"
    if is_dask_client(executor):
        return f"dask {_dask_label(executor)}"
    pool_workers = getattr(executor, "_max_workers", None)
    return type(executor).__name__ + (f" ({pool_workers} workers)" if pool_workers else "")


def _dask_label(client: object) -> str:
    try:
        workers = client.scheduler_info().get("workers", {})  # type: ignore[attr-defined]
        threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
        return f"{type(client).__name__} ({len(workers)} workers, {threads} threads)"
    except Exception:  # noqa: BLE001 - a label only; any client-like object will do
        return type(client).__name__


@dataclass(frozen=True)
class _Call:
    """One task: a module-level function, its arguments, and the caller's process id."""

    fn: Callable[..., Any]
    args: tuple
    parent: int


def _run_call(call: _Call) -> Any:
    if os.getpid() != call.parent:
        limit_blas_threads()
    return call.fn(*call.args)


def map_tasks(fn: Callable[..., Any], tasks: Sequence[tuple], executor: object = None,
              max_workers: int | None = None) -> list[Any]:
    """Run ``fn(*task)`` for every task and return the outputs in task order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled by reference for other processes).
    tasks : sequence of tuple
        The positional arguments of each call; keep them small (they are pickled to the worker).
    executor : None, "processes", "serial", concurrent.futures.Executor or dask Client
        See the module docstring.
    max_workers : int, optional
        Processes of the default pool (default :func:`default_workers`); ignored otherwise.

    Returns
    -------
    list
        ``[fn(*t) for t in tasks]``, computed by `executor`. An exception raised by a task is
        re-raised here; a worker process that dies raises :class:`ExecutorError`.
    """
    check_executor(executor, max_workers)
    if not tasks:
        return []
    calls = [_Call(fn, tuple(t), os.getpid()) for t in tasks]
    if executor == "serial":
        return [_run_call(c) for c in calls]
    try:
        if executor is None or executor == "processes":
            workers = max(1, min(max_workers or default_workers(), len(calls)))
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=_process_context()) as pool:
                return list(pool.map(_run_call, calls))
        if isinstance(executor, cf.Executor):
            return list(executor.map(_run_call, calls))
        futures = executor.map(_run_call, calls, pure=False)  # type: ignore[attr-defined]
        return list(executor.gather(futures))  # type: ignore[attr-defined]
    except BrokenProcessPool as exc:
        raise ExecutorError(f"a worker process of {describe(executor)} died (out of memory or "
                            f"killed?): {exc}") from exc


def limit_blas_threads(n: int = 1) -> None:
    """Limit BLAS/OpenMP thread pools of this process to `n` threads (once per process).

    Sets :data:`BLAS_ENV_VARS` (for libraries loaded later), then calls the OpenBLAS thread setter of
    every OpenBLAS already loaded (Linux: found in ``/proc/self/maps``). Silent where neither works.
    """
    global _limited_pid
    if _limited_pid == os.getpid():
        return
    _limited_pid = os.getpid()
    for var in BLAS_ENV_VARS:
        os.environ[var] = str(n)
    _set_openblas_threads(n)


def blas_threads() -> dict[str, int]:
    """Threads of each OpenBLAS loaded in this process, by library path (empty if none is found)."""
    out = {}
    for path, lib in _openblas_libraries():
        for name in _OPENBLAS_SETTERS:
            getter = getattr(lib, name.replace("_set_", "_get_"), None)
            if getter is not None:
                out[path] = int(getter())
                break
    return out


def _set_openblas_threads(n: int) -> None:
    for _, lib in _openblas_libraries():
        for name in _OPENBLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                break


def _openblas_libraries() -> list[tuple[str, ctypes.CDLL]]:
    out = []
    for path in _loaded_openblas():
        try:
            out.append((path, ctypes.CDLL(path)))
        except OSError:
            continue
    return out


def _loaded_openblas() -> list[str]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = {line.split(maxsplit=5)[-1] for line in maps.splitlines() if "openblas" in line.lower()}
    return sorted(p for p in paths if p.startswith("/") and ".so" in Path(p).name)

__all__ = ["BLAS_ENV_VARS", "blas_threads", "check_executor", "default_workers", "describe",
           "is_dask_client", "limit_blas_threads", "map_tasks"]
