"""Progress bars for a long pass on a terminal: one bar per kind of record, and why it is waiting.

An initial sync of thousands of bills takes as long as the APIs' rate limits make it (Clio allows
a few requests a second at best), so a pass on a terminal shows where it is: each phase announces
the writes it is about to send (the engine's ``on_plan``), each settled write moves its kind's bar
(``on_progress``), and when ledgerlink must wait for a rate limit the wait is shown with a
countdown instead of bars that look stuck. The display is transient: the summary table replaces it.
Off a terminal there are no bars (see ``output.pass_events`` for the plain log lines).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ledgerlink.cli.output import KIND_TITLES
from ledgerlink.http import add_wait_listener
from ledgerlink.sync.plan import WRITES, Action


def possessive(name: str) -> str:
    """ "Clio" → "Clio's", "QuickBooks" → "QuickBooks'"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def wait_text(api: str, seconds: float) -> str:
    return f"waiting {math.ceil(seconds)} s for {possessive(api or 'the API')} rate limit"


class _Bars(Progress):
    """rich's Progress with a status line above the bars while a rate-limit wait lasts."""

    def __init__(
        self, *columns: str | ProgressColumn, console: Console, status: Callable[[], str | None]
    ) -> None:
        self._status = status  # before rich's init, which may render already
        super().__init__(*columns, console=console, transient=True)

    def get_renderables(self) -> Iterable[RenderableType]:
        status = self._status()
        if status:
            yield Text(status, style="yellow")
        yield from super().get_renderables()


class PassProgress:
    """The progress display of one pass; use as a context manager around ``Workspace.sync_once``.

    Pass :meth:`on_plan` and :meth:`on_progress` to ``sync_once``. While the context is open a wait
    listener is registered with ``ledgerlink.http``: it is called from the thread that is about to
    sleep, so the display only notes when the wait ends and the refresh thread counts it down.
    """

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tasks: dict[str, TaskID] = {}
        self._wait: tuple[str, float] | None = None  # (api, monotonic time the wait should end)
        self._remove_listener: Callable[[], None] = lambda: None
        self.bars = _Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            status=self.status,
        )

    def __enter__(self) -> PassProgress:
        self._remove_listener = add_wait_listener(self.on_wait)
        self.bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._remove_listener()
        self.bars.stop()

    # -- engine hooks ----------------------------------------------------------------------------

    def on_plan(self, writes: Sequence[Action]) -> None:
        """A phase is about to send these writes: each kind's bar grows by its share."""
        for kind, count in Counter(action.kind for action in writes).items():
            task = self._tasks.get(kind)
            if task is None:
                self._tasks[kind] = self.bars.add_task(KIND_TITLES.get(kind, kind), total=count)
            else:
                total = self.bars.tasks[self._index(task)].total or 0
                self.bars.update(task, total=total + count)

    def on_progress(self, action: Action, outcome: str) -> None:
        """One record settled; a write that was sent (whatever its outcome) moves its kind's bar.

        A parked record's write is never sent, nor announced by ``on_plan``: it moves nothing.
        """
        task = self._tasks.get(action.kind)
        if action.op in WRITES and outcome != "parked" and task is not None:
            self._wait = None  # the pass is moving again
            self.bars.advance(task)

    def on_wait(self, api: str, seconds: float) -> None:
        """The wait listener: ledgerlink is about to sleep ``seconds`` for ``api``'s rate limit."""
        self._wait = (api, self._clock() + seconds)
        self.bars.refresh()

    # -- what is shown -------------------------------------------------------------------------

    def status(self) -> str | None:
        """ "waiting 42 s for Clio's rate limit" while a wait lasts (an estimate: the sleep is not ours)."""
        if self._wait is None:
            return None
        api, until = self._wait
        left = until - self._clock()
        return wait_text(api, left) if left > 0 else None

    def _index(self, task: TaskID) -> int:
        return next(i for i, t in enumerate(self.bars.tasks) if t.id == task)
