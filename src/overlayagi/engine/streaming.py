"""Streaming plumbing shared by backends: a concrete ``CompletionStream`` and a thread bridge."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, Future
from typing import TypeVar

from overlayagi.engine.types import Completion

T = TypeVar("T")


class DeltaStream:
    """An async iterator of text deltas whose ``completion`` is filled in when it finishes.

    ``factory`` receives the stream itself so the generator can set ``stream.completion``.
    """

    def __init__(self, factory: Callable[[DeltaStream], AsyncIterator[str]]) -> None:
        self.completion: Completion | None = None
        self._factory = factory
        self._iterator: AsyncIterator[str] | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterator is None:
            self._iterator = self._factory(self)
        return self._iterator

    async def aclose(self) -> None:
        it = self._iterator
        if it is not None and hasattr(it, "aclose"):
            await it.aclose()

    async def text(self) -> str:
        """Drain the stream and return the whole text."""
        return "".join([d async for d in self])


async def iterate_in_thread(
    produce: Callable[[threading.Event], Iterator[T]], executor: Executor
) -> AsyncIterator[T]:
    """Run a blocking generator in a worker thread and yield its items on the event loop.

    ``produce`` gets a ``threading.Event`` that is set when the consumer stops early (break,
    cancellation, Ctrl-C); it should check it between items and return promptly. It runs on
    ``executor`` (a backend's own thread).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, object]] = asyncio.Queue()
    stop = threading.Event()

    def put(kind: int, value: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is gone: nobody is listening any more
            stop.set()

    def work() -> None:
        try:
            for item in produce(stop):
                if stop.is_set():
                    break
                put(0, item)
            put(1, None)
        except BaseException as exc:  # forwarded to the consumer, not swallowed
            put(2, exc)

    done: Future[None] = executor.submit(work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == 0:
                yield value  # type: ignore[misc]
            elif kind == 1:
                return
            else:
                assert isinstance(value, BaseException)
                raise value
    finally:
        stop.set()
        # Let the worker notice and release the model before the next call starts.
        await asyncio.wrap_future(done)
