"""Group commit for the worker: one writer per process commits the facts of every activity that
is waiting, in one transaction on one thread, while the activities await their batch's commit.

Why: each `dispatch` carrying facts used to open its own transaction on its own thread, and
concurrent ones queued on SQLite's single write lock (busy-waiting in the driver); a commit and a
thread hand-over per settle point were most of what the facts cost the worker (bench/README.md).
Semantics are unchanged: an activity answers `done` only once its facts are committed, and the
write itself is the same idempotent one, so a retry or a killed worker changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

from core.report_store import ReportStore
from workflows.messages import CaseFacts

log = logging.getLogger(__name__)


class GroupWriter:
    """`await write(facts)` returns once `facts` are committed (or raises why they are not).

    Facts arriving while a transaction runs go together in the next one. A batch that fails is
    written again one case at a time, so one bad case cannot keep the others out."""

    def __init__(self, store: ReportStore, max_batch: int = 200) -> None:
        self._store = store
        self._max = max_batch
        self._waiting: list[tuple[CaseFacts, asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None

    async def write(self, facts: CaseFacts) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((facts, done))
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._drain())
        await done

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
            try:
                await asyncio.to_thread(self._store.write, [f for f, _ in batch])
            except Exception as e:  # noqa: BLE001 - answered to the activities
                if len(batch) == 1:
                    _settle(batch[0][1], e)
                    continue
                log.warning("report facts: a batch of %d failed (%s), writing each", len(batch), e)
                for f, done in batch:
                    try:
                        await asyncio.to_thread(self._store.write, [f])
                    except Exception as one:  # noqa: BLE001 - answered to its activity
                        _settle(done, one)
                    else:
                        _settle(done, None)
            else:
                for _, done in batch:
                    _settle(done, None)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the activity was cancelled meanwhile; its facts go again
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
