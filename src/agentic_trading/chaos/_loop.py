"""One asyncio event loop in a daemon thread, for the background work of an experiment.

Chaos Toolkit calls providers synchronously; signal flows, floods and the fault proxy are
asyncio. They run here, and the synchronous providers submit to this loop and wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """Start on first use; ``close()`` stops the loop and joins the thread."""

    def __init__(self, name: str = "atctl-chaos"):
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=run, name=self._name, daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop
        return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Start ``coroutine`` on the loop and return at once (a concurrent future)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[return-value]

    def close(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_the_rest(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._loop = None
        self._thread = None
