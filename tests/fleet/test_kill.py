"""kill -9 of one instance under load through Envoy (issue 15).

Load: 4 users walking whole conversations (10 turns each, then GetConversation) and 2 users logging in
(GetCaptcha, Login, GetProfile), all through Envoy. Once every instance has served turns and some
turns are acknowledged, instance 1 is killed with SIGKILL; the load goes on until 30 more turns are
acknowledged. Then: no idempotent call failed (Envoy retried them on another instance); a
non-idempotent call failed only UNAVAILABLE (cut off in flight; see tests/fleet/load.py for what the
load does then); every acknowledged turn is in the history; conversations begun before the kill went on
after it; Envoy stopped routing to the dead instance.
"""

from __future__ import annotations

import asyncio
import json
import time

import grpc
import pytest

from scripts.fleet import Fleet
from tests.fleet.load import TURNS, Load

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

VICTIM = 1


def served_turns(fleet: Fleet, index: int) -> int:
    """SendMessage calls instance `index` answered OK (its JSON log, all its runs)."""
    count = 0
    for line in fleet.instances[index].log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "SendMessage" not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "rpc" and str(record.get("method", "")).endswith("/SendMessage"):
            count += record.get("status") == "OK"
    return count


async def test_unary_kill_9_loses_no_idempotent_call_and_no_acknowledged_turn(
    fleet: Fleet, edge: grpc.aio.Channel
) -> None:
    before = [served_turns(fleet, i) for i in range(len(fleet.instances))]
    load = Load(edge)
    await load.start()
    deadline = time.monotonic() + 60
    while not all(served_turns(fleet, i) > before[i] for i in range(len(fleet.instances))):
        assert time.monotonic() < deadline, "round robin did not reach every instance"
        await asyncio.sleep(0.1)
    await load.wait_for_turns(10, within=60)
    at_kill = {cid: len(turns) for cid, turns in load.tally.acked.items() if 0 < len(turns) < len(TURNS)}

    fleet.kill(VICTIM)
    killed_at = load.tally.turns()
    await load.wait_for_turns(30, within=90)
    survivors = {i.port for i in fleet.instances if i.index != VICTIM}
    await asyncio.to_thread(fleet.wait_routing, survivors, 30)
    tally = await load.stop()
    lost = await load.lost_turns()
    print(f"\nkill -9 of instance {VICTIM} after {killed_at} turns: {tally.summary()}")

    assert tally.failed_idempotent() == []
    assert {code for _, code in tally.failed} <= {grpc.StatusCode.UNAVAILABLE}
    assert lost == {}
    continued = [cid for cid, count in at_kill.items() if len(tally.acked[cid]) > count]
    assert continued, "no conversation begun before the kill went on after it"
    assert tally.conversations_done >= 1
