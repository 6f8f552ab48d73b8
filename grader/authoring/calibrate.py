"""`course calibrate`: same-run speed ratios for every speed check, to (re)derive thresholds.

A speed check's threshold should sit well below the reference's ratio and well above the ratio of the
naive baselines it must reject (the maintainers' mutants). This prints both, with the margins.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from grader.engine.grading import grade
from grader.engine.registry import LessonSpec


def speed_checks(lesson: LessonSpec) -> list[str]:
    return [c.name for c in lesson.checks if c.name.startswith("speed")]


def calibrate(lessons: list[LessonSpec], *, repeats: int = 3) -> None:
    import sys

    from grader.engine.registry import ROOT

    if str(ROOT) not in sys.path:  # the maintainers' submissions live in the checkout's tests/, not the package
        sys.path.insert(0, str(ROOT))
    from tests import mutants

    with tempfile.TemporaryDirectory() as tmp:
        for lesson in lessons:
            names = speed_checks(lesson)
            if not names:
                continue
            candidates = {"reference": lesson.notebook("solutions")}
            for name in mutants.names(lesson.id):
                candidates[name] = mutants.compose(lesson.id, name, Path(tmp))
            ratios: dict[tuple[str, str, str, str], list[float]] = {}
            for label, path in candidates.items():
                for _ in range(repeats):
                    for r in grade(lesson.id, path, checks=names).results:
                        if r.measured is not None:
                            ratios.setdefault((r.exercise, r.check, r.device, label), []).append(r.measured)
            for spec in (c for c in lesson.checks if c.name in names):
                for device in spec.devices:
                    rows = {label: v for (exercise, check, dev, label), v in ratios.items()
                            if (exercise, check, dev) == (spec.exercise, spec.name, device)}
                    if not rows:
                        print(f"{lesson.id} {spec.exercise}.{spec.name} [{device}]: not measured here")
                        continue
                    key = next(iter(spec.thresholds))
                    threshold = spec.threshold(key, device)
                    print(f"{lesson.id} {spec.exercise}.{spec.name} [{device}] threshold {key}={threshold:g}")
                    for label, values in sorted(rows.items(), key=lambda kv: -min(kv[1])):
                        low, high = min(values), max(values)
                        print(f"    {label:28s} ratio {low:9.2f} .. {high:9.2f}   "
                              f"ratio/threshold {low / threshold:6.2f} .. {high / threshold:6.2f}")
