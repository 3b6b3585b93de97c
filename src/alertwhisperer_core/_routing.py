"""Who gets a new incident (SPEC §6): the least loaded technician, ties taken in turn."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from ._models import User

__all__ = ["pick_technician"]


def pick_technician(
    candidates: Sequence[User], open_counts: Mapping[str, int], last_assigned: str | None
) -> str | None:
    """The id of the active candidate with the fewest open incidents, or None if none is active.

    ``open_counts`` maps user ids to open incident counts (absent means 0). Ties go round robin
    in id order: the first tied id after ``last_assigned``, wrapping around; ``last_assigned``
    need not be a candidate (they may have left), and None starts at the lowest id. The order
    of ``candidates`` does not matter, so callers need not sort them.
    """
    counts = {user.id: open_counts.get(user.id, 0) for user in candidates if user.active}
    if not counts:
        return None
    fewest = min(counts.values())
    tied = sorted(user_id for user_id, count in counts.items() if count == fewest)
    if last_assigned is None:
        return tied[0]
    after = bisect.bisect_right(tied, last_assigned)
    return tied[after % len(tied)]
