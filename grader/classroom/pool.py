"""Grade many (student, lesson) submissions: serially, on a local Dask cluster, or on a running one.

Each task is one `grade(lesson, path)` in the worker's process, whose sealed children run the student's
code exactly as `course grade` does; only the JSON report travels back. A worker's first task pays for its
forkserver (torch imported once); later tasks fork from it. A task that fails inside the grader itself
becomes a report with an error note, so one bad submission never loses the rest of the class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from grader.classroom.submissions import Task

Done = Callable[[Task, dict], None]


def grade_one(task: Task, timeout_s: float | None = None, checks: tuple[str, ...] | None = None) -> dict:
    from grader.engine.grading import grade

    try:
        return grade(task.lesson, task.path, timeout_s=timeout_s, checks=checks).to_json()
    except Exception as exc:  # noqa: BLE001 - the grader's own failure: recorded, the class goes on
        return {"lesson": task.lesson, "score": 0.0, "max_score": 0.0, "sandbox": "", "sealed": False,
                "checks": [], "error": f"internal grader error: {type(exc).__name__}: {exc}"}


def _one_thread() -> None:
    """A worker judges with one torch thread: workers already share the cores (several threads each would
    oversubscribe them, and OpenMP threads spin)."""
    import torch

    torch.set_num_threads(1)


def grade_tasks(tasks: Iterable[Task], *, jobs: int = 1, scheduler: str | None = None,
                timeout_s: float | None = None, checks: tuple[str, ...] | None = None,
                on_done: Done | None = None) -> list[tuple[Task, dict]]:
    """Every task's report, in the order they finished. `scheduler` (tcp://HOST:8786) uses a running Dask
    cluster; otherwise `jobs` > 1 starts a local one with that many single-threaded worker processes.
    `checks` limits grading to the named checks (all by default)."""
    tasks = list(tasks)
    results: list[tuple[Task, dict]] = []

    def done(task: Task, report: dict) -> None:
        results.append((task, report))
        if on_done is not None:
            on_done(task, report)

    if scheduler is None and jobs <= 1:
        for task in tasks:
            done(task, grade_one(task, timeout_s, checks))
        return results
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    # Worker processes must be allowed children (the grader's forkserver and its sealed children); the
    # grader enforces its own memory limits per child, so Dask's per-worker limit is off. Dask's sampling
    # profiler (a stack walk every 10 ms) and GIL monitor would take CPU from the grading on the same core.
    with dask.config.set({"distributed.worker.daemon": False, "distributed.admin.tick.limit": "60s",
                          "distributed.worker.profile.enabled": False,
                          "distributed.admin.system-monitor.gil.enabled": False}):
        if scheduler is None:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            cluster, client = None, Client(scheduler)
        try:
            client.run(_one_thread)
            futures = {client.submit(grade_one, task, timeout_s, checks, pure=False): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    report = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker lost mid-task: record it, go on
                    report = {"lesson": task.lesson, "score": 0.0, "max_score": 0.0, "sandbox": "", "sealed": False,
                              "checks": [], "error": f"the worker grading it failed: {type(exc).__name__}: {exc}"}
                done(task, report)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return results
