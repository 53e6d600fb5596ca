"""Peak memory of the current process, for the benchmarks.

``resource.getrusage(...).ru_maxrss`` is not enough on Linux: a child forked from a big parent
inherits the parent's high-water mark, and it survives ``exec``. ``VmHWM`` in ``/proc/self/status``
belongs to the process's own address space, so it starts afresh at ``exec``.
"""

from __future__ import annotations

import resource
import sys


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
