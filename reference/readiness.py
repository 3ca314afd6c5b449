"""Readiness of the reference apps: they answer /ready only once their database is set up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pymongo.errors import PyMongoError
from starlette.concurrency import run_in_threadpool


async def set_up_then_ready(set_up: Callable[[], None], what: str, ready: asyncio.Event,
                            log: logging.Logger) -> None:
    """Retries `set_up` until it succeeds, then sets `ready`.

    The database may still be starting, or getting its users, when the app does.
    """
    while True:
        try:
            await run_in_threadpool(set_up)
            ready.set()
            return
        except PyMongoError as exc:
            log.warning("%s not ready yet: %s", what, type(exc).__name__)
            await asyncio.sleep(0.5)
