"""Waiting for the embedded engine to drain, for the cancellation tests."""

import asyncio


async def engine_idle(engine, seconds: float = 5.0) -> bool:
    """True once no sequence is active or prefilling (polled every 0.1 s)."""
    for _ in range(int(seconds / 0.1)):
        if not engine.active and not engine.prefilling:
            return True
        await asyncio.sleep(0.1)
    return not engine.active and not engine.prefilling
