"""Progress reporting for the build: rich progress bars (epochs, batches) on stderr, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from edgekit.stages.context import StageRecord


class Reporter:
    """Quiet by default; ``Reporter(console)`` shows bars and one line per finished stage."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self._progress: Progress | None = None

    @contextmanager
    def session(self) -> Iterator[None]:
        if self.console is None:
            yield
            return
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"), console=self.console, transient=True,
        )
        with self._progress:
            yield
        self._progress = None

    def task(self, description: str, total: int) -> TaskID | None:
        if self._progress is None:
            return None
        return self._progress.add_task(description, total=total, info="")

    def advance(self, task: TaskID | None, n: int = 1, info: str | None = None) -> None:
        if self._progress is not None and task is not None:
            if info is None:
                self._progress.update(task, advance=n)
            else:
                self._progress.update(task, advance=n, info=info)

    def finish(self, task: TaskID | None) -> None:
        if self._progress is not None and task is not None:
            self._progress.remove_task(task)

    def log(self, msg: str) -> None:
        if self.console is not None:
            self.console.print(msg, highlight=False)

    def stage_done(self, rec: StageRecord) -> None:
        acc = f"{rec.accuracy * 100:.2f} %" if rec.accuracy is not None else "-"
        self.log(f"[green]✓[/] {rec.stage:<14} {rec.model_id:<18} acc {acc:>8}  {rec.seconds:6.1f} s")
