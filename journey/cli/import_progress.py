"""The bar ``journey contacts import`` shows on a terminal while a file imports.

Pipeline position: ``cli.runs`` (the command) -> **import_progress** -> the terminal. The
bar measures the file's bytes read against its size, so it moves evenly however many
rows a line holds; beside it, the rows read and the time taken. Nothing is shown when
output is piped or ``--json`` was asked for: a script reads only the result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

__all__ = ["import_progress"]


@contextmanager
def import_progress(enabled: bool, file: Path) -> Iterator[Callable[[int, int], None]]:
    """A progress callback (rows read, bytes read) drawing the bar while inside."""
    if not (enabled and sys.stdout.isatty()):
        yield lambda _rows, _done: None
        return
    try:
        size = file.stat().st_size
    except OSError:
        size = 0
    columns = (
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("importing", total=max(size, 1), rows=0)

        def update(rows: int, done: int) -> None:
            progress.update(task, completed=done, rows=rows)

        yield update
