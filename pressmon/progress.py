"""Progress of the long steps (crawl, process, retag) on stderr, apart from their results on stdout.

On a terminal: one line redrawn in place, with the count, the rate and the time left. Elsewhere (a pipe, a
log file, an Airflow task log): a plain line every `every` seconds and one at the end, so logs stay readable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TextIO

# How often a terminal line is redrawn at most, in seconds.
REDRAW_EVERY = 0.1


class Progress:
    """What a step reports while it runs; this base class shows nothing.

    `start` names the work (and its size when known), `update` says how far it is, `note` reports an event
    worth a line of its own (a stop reason, a failed page), `finish` ends the display.
    """

    def start(self, what: str, total: int | None = None, unit: str = "pages") -> None:
        return None

    def update(self, done: int, total: int | None = None, detail: str = "") -> None:
        return None

    def note(self, message: str) -> None:
        return None

    def finish(self) -> None:
        return None

    def __call__(self, message: str) -> None:
        self.note(message)


QUIET = Progress()


class Lines(Progress):
    """Progress for a function that takes lines of text (e.g. `print` in an Airflow task)."""

    def __init__(
        self, write: Callable[[str], None], every: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self.write = write
        self.every = every
        self.clock = clock
        self.what = ""
        self.unit = "pages"
        self.total: int | None = None
        self.done = 0
        self.detail = ""
        self.started = clock()
        self.shown_at = self.started

    def start(self, what: str, total: int | None = None, unit: str = "pages") -> None:
        self.what, self.total, self.unit = what, total, unit
        self.done, self.detail = 0, ""
        self.started = self.clock()
        # The first plain line comes `every` seconds in: a short step shows only its last line.
        self.shown_at = self.started

    def update(self, done: int, total: int | None = None, detail: str = "") -> None:
        self.done, self.detail = done, detail
        if total is not None:
            self.total = total
        now = self.clock()
        if now - self.shown_at >= self.every:
            self.shown_at = now
            self.show()

    def show(self) -> None:
        """Show how far the work is (every `every` seconds)."""
        self.write(self.line())

    def note(self, message: str) -> None:
        self.write(message)

    def finish(self) -> None:
        if self.what:
            self.write(self.line())
            self.what = ""

    def line(self) -> str:
        """Describe the work so far: count, rate and time left (when the total is known)."""
        elapsed = max(self.clock() - self.started, 1e-9)
        total = max(self.total, self.done) if self.total is not None else None
        count = f"{self.done:,}/{total:,}" if total is not None else f"{self.done:,}"
        rate = self.done / elapsed
        parts = [f"{self.what}: {count} {self.unit}", f"{rate:.1f}/s"]
        if total is not None and self.done < total:
            parts.append(f"ETA {_duration((total - self.done) / rate)}" if rate > 0 else "ETA ?")
        else:
            parts.append(f"in {_duration(elapsed)}")
        if self.detail:
            parts.append(f"({self.detail})")
        return "  ".join(parts)


class Terminal(Lines):
    """Progress as one line redrawn in place on a terminal; notes and log records print above it."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic):
        super().__init__(self.note, every=REDRAW_EVERY, clock=clock)
        self.stream = stream
        self.lock = threading.RLock()
        self.drawn = False

    def update(self, done: int, total: int | None = None, detail: str = "") -> None:
        with self.lock:
            super().update(done, total, detail)

    def show(self) -> None:
        self._draw()

    def note(self, message: str) -> None:
        with self.above():
            self.stream.write(message + "\n")

    def finish(self) -> None:
        with self.lock:
            if self.what:
                self._draw()
                self.stream.write("\n")
                self.stream.flush()
                self.drawn = False
                self.what = ""

    def above(self) -> _Above:
        """Context in which whatever is written to the stream goes above the live line."""
        return _Above(self)

    def _draw(self) -> None:
        if self.what:
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()
            self.drawn = True


class _Above:
    def __init__(self, terminal: Terminal):
        self.terminal = terminal

    def __enter__(self) -> None:
        self.terminal.lock.acquire()
        if self.terminal.drawn:
            self.terminal.stream.write("\r\x1b[K")

    def __exit__(self, *exc: object) -> None:
        try:
            if self.terminal.drawn:
                self.terminal._draw()
            self.terminal.stream.flush()
        finally:
            self.terminal.lock.release()


class LogHandler(logging.StreamHandler):
    """A stderr log handler that writes above a live progress line instead of through it."""

    terminal: Terminal | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.terminal is None:
            super().emit(record)
            return
        with self.terminal.above():
            super().emit(record)


def for_stream(stream: TextIO, log_handler: LogHandler | None = None, every: float = 10.0) -> Progress:
    """Return a live display when the stream is a terminal, else plain lines every `every` seconds."""
    if stream.isatty():
        terminal = Terminal(stream)
        if log_handler is not None:
            log_handler.terminal = terminal
        return terminal
    return Lines(lambda line: print(line, file=stream, flush=True), every=every)


# What the steps accept as their `progress` argument.
ProgressArg = Progress | Callable[[str], None]


def as_progress(progress: ProgressArg) -> Progress:
    """Accept a Progress, or a function taking lines (`print`), as the steps' `progress` argument."""
    return progress if isinstance(progress, Progress) else Lines(progress)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
