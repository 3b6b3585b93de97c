"""A dependency-free progress bar for long CLI runs (drawn only on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO = sys.stderr,
        width: int = 30,
        min_total: int = 10_000,
        show_rate: bool = True,
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream
        self.width = width
        self.done = 0
        self.note = ""
        self._show_rate = show_rate
        self._enabled = stream.isatty() and total >= min_total
        self._last_draw = 0.0
        self._started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """Count ``n`` more done (0 just redraws); ``note`` replaces the text after the bar."""
        self.done += n
        if note is not None:
            self.note = note
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and self.done < self.total:
            return
        self._last_draw = now
        filled = int(self.width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        if self._show_rate:
            rate = self.done / max(now - self._started, 1e-9)
            tail = f"{rate:,.0f}/s"
        else:
            seconds = int(now - self._started)
            tail = f"{seconds // 60}m{seconds % 60:02d}s"
        note = f" {self.note}" if self.note else ""
        # Pad so a shorter line fully covers the one it replaces.
        line = f"{self.label} [{bar}] {self.done}/{self.total} {tail}{note}"
        self.stream.write(f"\r{line:<100}")
        self.stream.flush()

    def close(self) -> None:
        if self._enabled:
            self.stream.write("\n")
            self.stream.flush()
