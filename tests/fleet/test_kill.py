"""kill -9 of one instance under load through Envoy (issue 15).

Load: 4 users walking whole conversations (10 turns each, then GetConversation), 2 users logging in
(GetCaptcha, Login, GetProfile) and 2 readers (GetConversation, SearchBehaviors, GetProfile), all
through Envoy. Once every instance has served turns and some turns are acknowledged, instance 1 hangs
(SIGSTOP) until Envoy holds at least 3 calls in flight on it, then is killed with SIGKILL; the load goes
on until 30 more turns are acknowledged. Then: no idempotent call failed (Envoy retried them on another instance); a
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
IN_FLIGHT = 3


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
    victim = fleet.instances[VICTIM]
    retries_before = fleet.counter("upstream_rq_retry_success")

    # The instance hangs first, so calls are certainly in flight on it when it dies (a kill at a random
    # instant often finds none): until Envoy holds IN_FLIGHT calls on it, or its health checks fail.
    fleet.freeze(VICTIM)
    deadline = time.monotonic() + 30
    while (fleet.host_stat(victim.port, "rq_active") or 0) < IN_FLIGHT and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    in_flight = fleet.host_stat(victim.port, "rq_active") or 0
    fleet.kill(VICTIM)
    killed_at = load.tally.turns()
    await load.wait_for_turns(30, within=90)
    survivors = {i.port for i in fleet.instances if i.index != VICTIM}
    await asyncio.to_thread(fleet.wait_routing, survivors, 30)
    tally = await load.stop()
    lost = await load.lost_turns()
    retried = fleet.counter("upstream_rq_retry_success") - retries_before
    print(
        f"\nkill -9 of instance {VICTIM} (hung with {in_flight} calls in flight) after {killed_at} turns; "
        f"Envoy retried {retried} calls successfully ({fleet.counter('upstream_rq_retry_overflow')} retries "
        f"refused by the retry budget): {tally.summary()}"
    )

    assert in_flight >= IN_FLIGHT, "no calls were in flight on the instance when it was killed"
    assert tally.failed_idempotent() == []
    assert {code for _, code in tally.failed} <= {grpc.StatusCode.UNAVAILABLE}
    assert lost == {}
    continued = [cid for cid, count in at_kill.items() if len(tally.acked[cid]) > count]
    assert continued, "no conversation begun before the kill went on after it"
    assert tally.conversations_done >= 1
