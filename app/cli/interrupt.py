"""Ctrl-C for the commands that run an asyncio session (run, calibrate, resonance).

The first SIGINT or SIGTERM asks the command to finish cleanly (the engine stops, every
sink is closed, a calibration is abandoned); a second one cancels the command's task
outright, which still runs every ``finally`` (files are closed). Either way the handlers
are removed when the command returns, so nothing is left ignoring the signals.
"""

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Interrupted(Exception):
    """The user asked the command to stop (Ctrl-C or SIGTERM)."""


def run_interruptible(
    command: Callable[[], Awaitable[T]], on_first: Callable[[], None]
) -> tuple[T | None, bool]:
    """Run ``command()`` in a new event loop with Ctrl-C handled.

    Parameters
    ----------
    command : callable
        Returns the coroutine to run.
    on_first : callable
        Called on the loop at the first signal: ask the command to finish.

    Returns
    -------
    result : object or None
        The command's result (None when cancelled by a second signal).
    interrupted : bool
        True when a signal arrived.
    """
    state = {"signals": 0}

    async def guarded() -> T | None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def handle() -> None:
            state["signals"] += 1
            if state["signals"] == 1:
                on_first()
            elif task is not None:
                task.cancel()

        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, handle)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt instead
                pass
        try:
            return await command()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    try:
        result = asyncio.run(guarded())
    except (asyncio.CancelledError, KeyboardInterrupt):
        return None, True
    return result, state["signals"] > 0


async def cancel_quietly(task: asyncio.Task) -> None:
    """Cancel a helper task and wait for it."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
