"""One progress display for every long command (sync, import, generate, detect --full, log
export, bench, the demo's sync).

On a terminal it is rich's live display: one line per task with the count, the rate and,
where the total is known, a bar and the time remaining. Anywhere else (CI logs, ``docker
logs``, a pipe) it writes one plain line per task at most every ``interval`` seconds and a
last line when the task ends (a task that ends within the first interval prints nothing), so
logs stay readable and never fill with carriage returns::

    import verra: 40,000/100,000 records (7,912/s, 8 s left)

Usage::

    with Progress("import", unit="records") as progress:
        progress.update("verra", done=40_000, total=100_000)

The numbers are the caller's (absolute counts, not increments), so a display never drifts
from what the command reports at its end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

__all__ = ["DEFAULT_INTERVAL", "Progress", "rate_text"]

#: Seconds between two plain lines of one task. A task that ends sooner prints nothing at
#: all off a terminal: a quick command's output stays its own.
DEFAULT_INTERVAL = 5.0


def rate_text(done: int, elapsed: float, unit: str, total: int | None = None) -> str:
    """``40,000/100,000 records (7,912/s, 8 s left)``: the plain form of one task's state."""
    count = f"{done:,}/{total:,}" if total is not None else f"{done:,}"
    rate = done / elapsed if elapsed > 0 else 0.0
    if rate >= 10 or rate == 0:
        extra = f"{rate:,.0f}/s"
    elif rate >= 1:
        extra = f"{rate:.1f}/s"
    else:  # slow things (benchmark phases) read better per minute
        extra = f"{rate * 60:.1f}/min"
    if total is not None and rate > 0 and done < total:
        extra += f", {_duration((total - done) / rate)} left"
    return f"{count} {unit} ({extra})"


def _duration(span: float) -> str:
    seconds = round(span)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class _CountColumn(ProgressColumn):
    """``40,000/100,000 records (7,912/s)``: count, total when known, and rate."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        count = f"{done:,}/{int(task.total):,}" if task.total is not None else f"{done:,}"
        speed = task.finished_speed or task.speed
        rate = f" ({speed:,.0f}/s)" if speed else ""
        return Text(f"{count} {self.unit}{rate}")


@dataclass
class _Plain:
    started: float
    done: int = 0
    total: int | None = None
    printed_at: float = 0.0
    printed: bool = False
    finished: bool = field(default=False)


class Progress:
    """Progress of one command's tasks on ``stream`` (stderr by default); see the module."""

    def __init__(
        self,
        label: str,
        *,
        unit: str = "records",
        stream: TextIO | None = None,
        interval: float | None = None,
        enabled: bool = True,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval = DEFAULT_INTERVAL if interval is None else interval
        self.enabled = enabled
        self.clock = clock
        is_tty = terminal if terminal is not None else _isatty(self.stream)
        self._rich: RichProgress | None = None
        self._ids: dict[str, int] = {}
        self._plain: dict[str, _Plain] = {}
        if enabled and is_tty:
            console = Console(file=self.stream, force_terminal=True)
            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                _CountColumn(unit),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, name: str, done: int, total: int | None = None) -> None:
        """Task ``name`` has ``done`` of ``total`` (None: unknown) units."""
        if not self.enabled:
            return
        if self._rich is not None:
            task_id = self._ids.get(name)
            if task_id is None:
                description = " ".join(part for part in (self.label, name) if part)
                task_id = self._rich.add_task(description, total=total)
                self._ids[name] = int(task_id)
            self._rich.update(task_id, completed=done, total=total)  # type: ignore[arg-type]
            return
        now = self.clock()
        state = self._plain.setdefault(name, _Plain(started=now, printed_at=now))
        state.done, state.total = done, total
        if now - state.printed_at >= self.interval:
            state.printed_at = now
            self._line(name, state, now)

    def finish(self, name: str) -> None:
        """Task ``name`` ended: its last line (plain mode) says where it ended."""
        if not self.enabled:
            return
        if self._rich is not None:
            task_id = self._ids.get(name)
            if task_id is not None:
                task = self._rich.tasks[task_id]
                if task.total is None:
                    self._rich.update(task_id, total=task.completed)  # type: ignore[arg-type]
                self._rich.stop_task(task_id)  # type: ignore[arg-type]
            return
        state = self._plain.get(name)
        if state is not None and not state.finished:
            state.finished = True
            if state.printed:  # a task short enough to print nothing stays silent
                self._line(name, state, self.clock())

    def sync_callback(self) -> Callable[[str, int, int], None]:
        """The sync engine's ``progress(name, pages, records)`` as an update per connector."""

        def callback(name: str, pages: int, records: int) -> None:
            self.update(name, records)

        return callback

    def close(self) -> None:
        for name in list(self._plain):
            self.finish(name)
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def _line(self, name: str, state: _Plain, now: float) -> None:
        state.printed = True
        text = rate_text(state.done, now - state.started, self.unit, state.total)
        prefix = " ".join(part for part in (self.label, name) if part)
        print(f"{prefix}: {text}", file=self.stream, flush=True)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
