"""Peak memory of the current process, for the benchmarks.

``resource.getrusage(...).ru_maxrss`` is not enough on Linux: a child forked from a big parent
inherits the parent's high-water mark, and it survives ``exec``. ``VmHWM`` in ``/proc/self/status``
belongs to the process's own address space, so it starts afresh at ``exec``.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM where /proc exists, else ru_maxrss)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def machine(libraries: tuple[str, ...] = ("pandas", "pyarrow", "numpy", "duckdb")) -> str:
    """CPU count and model, RAM, OS, Python and the versions of `libraries` that are installed.

    Versions come from package metadata, so nothing is imported: a parent process that forks
    measured children stays small.
    """
    import os
    import platform
    from importlib.metadata import PackageNotFoundError, version

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle
                          if line.startswith("model name")), model)
    except OSError:
        pass
    try:
        ram = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram = ""
    found = []
    for lib in libraries:
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{lib} {version(lib)}")
    return (f"{os.cpu_count()} CPUs ({model}){ram}, {platform.platform()}, Python "
            f"{platform.python_version()}" + "".join(f", {v}" for v in found))


def write_results(text: str, results: Path, quick: Path | None = None) -> Path:
    """Write a benchmark's markdown to `results` (or to `quick` for a ``--quick`` run); return the path.

    A quick run never overwrites the committed table of a full run.
    """
    target = quick if quick is not None else results
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"written to {target.relative_to(Path(__file__).resolve().parents[1])}")
    return target
