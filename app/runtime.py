"""Run an :class:`~app.engine.Engine` on its own thread with its own asyncio loop.

The Qt main thread only reads ``engine.snapshot`` and sends commands through
:meth:`EngineThread.submit` (``asyncio.run_coroutine_threadsafe``).
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from app.engine import Engine

log = logging.getLogger(__name__)


class EngineThread:
    """Own the engine thread: start, submit commands, stop and join.

    Parameters
    ----------
    engine : Engine
        The engine to run.
    duration_s : float or None
        Passed to :meth:`Engine.run`.
    on_finished : callable or None
        Called on the engine thread when the engine stops, with the exception that
        stopped it or ``None``.
    keep_alive : bool
        Keep the engine running when every source has ended (see :meth:`Engine.run`).
    """

    def __init__(
        self,
        engine: Engine,
        duration_s: float | None = None,
        on_finished: Callable[[BaseException | None], None] | None = None,
        keep_alive: bool = False,
    ) -> None:
        self.engine = engine
        self.keep_alive = keep_alive
        self.duration_s = duration_s
        self.on_finished = on_finished
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="heartsync-engine", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start the engine thread."""
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.engine.run(self.duration_s, self.keep_alive))
        except BaseException as exc:  # reported to the UI, never lost
            log.exception("engine stopped with an error")
            self.error = exc
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            if self.on_finished is not None:
                self.on_finished(self.error)

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Run ``coro`` on the engine loop; returns a future for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call a plain (non-async) engine method on the engine loop, soon."""
        self._loop.call_soon_threadsafe(fn, *args)

    @property
    def alive(self) -> bool:
        """True while the engine thread runs."""
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop the engine and join its thread; True when it ended within ``timeout_s``."""
        if self._thread.is_alive() and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self.engine.stop)
            except RuntimeError:  # the loop closed meanwhile
                pass
        self._thread.join(timeout_s)
        return not self._thread.is_alive()
