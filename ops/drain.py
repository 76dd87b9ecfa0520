"""A linear-time replacement for the SDK's final wait on outstanding Outputs, for offline runs.

``pulumi.runtime.stack.wait_for_rpcs`` drains the program's outstanding Output tasks with
``asyncio.wait(tasks, return_when=FIRST_COMPLETED)`` in a loop: every pass re-registers a
callback on every task still pending, so draining n tasks costs O(n * passes). Under mocks every
RPC answers at once and the program's thousands of Outputs are pending together, which made that
loop most of the synth's time and grew it faster than the stack (measured in
benchmarks/synth.py: 6 regions x 25 services took 40 s, 12 ms per resource, against 10 ms for
prod).

This version waits for the same tasks with ``FIRST_EXCEPTION``: one pass per wave of Outputs, the
first failure still surfaces at once, and new Outputs created meanwhile are picked up by the next
pass, exactly as before. The RPC half of the loop is the SDK's, unchanged. It is installed only by
the offline harness (ops.harness), never in a real ``pulumi up``.
"""

from __future__ import annotations

import asyncio

from pulumi.runtime import settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.settings import _get_rpc_manager

_ORIGINAL = pulumi_stack.wait_for_rpcs


async def wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    rpc_manager = _get_rpc_manager()
    while True:
        while len(rpc_manager.rpcs) > 0:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    raise exn from rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        if await_all_outstanding_tasks:
            while True:
                with settings.SETTINGS.lock:
                    if not settings.SETTINGS.outputs:
                        break
                    pending = list(settings.SETTINGS.outputs)
                    settings.SETTINGS.outputs.clear()
                done, not_done = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    await task  # re-raises the first failure
                if not_done:
                    with settings.SETTINGS.lock:
                        settings.SETTINGS.outputs.update(not_done)
        if len(rpc_manager.rpcs) == 0:
            break


def install() -> None:
    """Use the linear drain for runs in this process (idempotent)."""
    pulumi_stack.wait_for_rpcs = wait_for_rpcs  # type: ignore[assignment]
