"""Property-based checks: hypothesis draws the inputs in the judge's process, shrinks failures to a
small example, and the failure message names that example."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.engine.checks import Fail, StudentError


def for_all(strategy: Any, body: Callable[[Any], None], *, max_examples: int,
            describe: Callable[[Any], str]) -> int:
    """Run `body(example)` on drawn examples; raise Fail naming the smallest failing example."""
    from hypothesis import HealthCheck, Phase, given, settings

    seen: list[Any] = []

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              print_blob=False, report_multiple_bugs=False, phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(example: Any) -> None:
        seen.append(example)
        body(example)

    try:
        run()
    except (Fail, StudentError) as exc:
        raise type(exc)(f"for {describe(seen[-1])}: {exc}") from None
    return len(seen)
