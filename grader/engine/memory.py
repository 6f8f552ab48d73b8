"""Memory and CPU time of a running process, read from /proc (no torch import: nbgrader's process uses it too)."""

import os


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid`, in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_times(pid: int) -> tuple[float, float]:
    """(user + system CPU seconds of process `pid`, those of the children it has waited for); zeros once it is
    gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    # after the ")" that ends the command name: state is field 3, utime stime cutime cstime are fields 14-17
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick
