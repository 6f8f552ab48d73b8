"""Hypothesis strategies shared by the lessons' property-based checks (drawn in the judge's process)."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def broadcastable_shapes(draw, *, max_rank: int = 4, max_size: int = 5) -> tuple[list[int], list[int]]:
    """Two leading shapes that broadcast together: suffixes of one full shape, with some dims set to 1."""
    rank = draw(st.integers(0, max_rank))
    full = draw(st.lists(st.integers(1, max_size), min_size=rank, max_size=rank))

    def one_side() -> list[int]:
        dims = full[draw(st.integers(0, rank)):]
        return [size if draw(st.booleans()) else 1 for size in dims]

    return one_side(), one_side()


seeds = st.integers(0, 2**31 - 1)
