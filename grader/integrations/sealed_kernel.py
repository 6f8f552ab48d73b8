"""`python -m grader.integrations.sealed_kernel WRITE_DIR -- KERNEL_ARGV...`: seal, then become the kernel.

nbgrader runs each student's cells in a Jupyter kernel to fill the notebook's outputs. CourseExecute starts
that kernel through this launcher, which applies the grader's sandbox (grader.engine.sandbox) and then execs
the kernel: the student's code may read the Python environment and its own notebook folder, write only that
folder, a private scratch folder (IPython's and matplotlib's settings, TMPDIR) and a private /dev/shm
(DataLoader workers), and cannot signal processes outside. TCP stays open: the kernel talks to nbgrader over
127.0.0.1. The grade never comes from the kernel; this keeps one student's cells away from the course folder,
the gradebook and other students.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> None:
    write_dir, separator, *kernel = argv
    if separator != "--" or not kernel:
        raise SystemExit("usage: python -m grader.integrations.sealed_kernel WRITE_DIR -- KERNEL_ARGV...")
    from grader.engine import sandbox
    from grader.engine.runners import readable_paths

    scratch = tempfile.mkdtemp(prefix="course-kernel-")
    os.environ["IPYTHONDIR"] = os.path.join(scratch, "ipython")
    os.environ["MPLCONFIGDIR"] = os.path.join(scratch, "matplotlib")
    os.environ["TMPDIR"] = scratch  # tempfile, and multiprocessing's sockets (DataLoader workers)
    # DataLoader workers need a writable /dev/shm (semaphores, shared tensors): a private one, if possible
    shm = [sandbox.SHM] if sandbox.private_shm_namespace() else []
    connection = [kernel[i + 1] for i, arg in enumerate(kernel[:-1]) if arg == "-f"]
    sealed = sandbox.seal(read=[*readable_paths(), *connection, str(Path(sys.executable).resolve())],
                          write=[os.path.abspath(write_dir), scratch, *shm], max_processes=None, network=True)
    if "landlock-fs" not in sealed.layers:
        print(f"[course] the kernel runs NOT SEALED: {sandbox.describe(sealed)}", file=sys.stderr)
    os.execvp(kernel[0], kernel)


if __name__ == "__main__":
    main(sys.argv[1:])
