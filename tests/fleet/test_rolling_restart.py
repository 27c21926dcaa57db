"""A rolling restart under load through Envoy: zero failed calls (issue 15).

Load: as in test_kill.py (4 users walking whole conversations, 2 logging in), all through Envoy. Each
instance in turn gets SIGTERM: its health turns NOT_SERVING while it keeps serving for
SHUTDOWN_DRAIN_SECONDS, Envoy's health check (every 0.5 s) takes it out of the rotation, then it
refuses new calls, finishes those in flight and exits 0; it is started again and the next one goes
only once Envoy routes to all three. Meanwhile no call of any method fails, and every acknowledged
turn is in the history afterwards.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from scripts.fleet import Fleet
from tests.fleet.load import Load

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.mark.timeout(300)  # three instances start again on a busy machine
async def test_unary_rolling_restart_fails_no_call(fleet: Fleet, edge: grpc.aio.Channel) -> None:
    load = Load(edge)
    await load.start()
    await load.wait_for_turns(10, within=60)
    exits = []
    for instance in fleet.instances:
        exits.append(await asyncio.to_thread(fleet.terminate, instance.index))
        await asyncio.to_thread(fleet.restart, instance.index)
        await load.wait_for_turns(5, within=60)  # the load went on with the restarted instance back
    tally = await load.stop()
    lost = await load.lost_turns()
    print(f"\nrolling restart of {len(exits)} instances (exit codes {exits}): {tally.summary()}")

    assert exits == [0] * len(fleet.instances)
    assert tally.failed == []
    assert lost == {}
    assert tally.conversations_done >= 1
