"""The honest answer of an RPC that is not built yet: UNIMPLEMENTED with a plain message."""

from __future__ import annotations

from typing import NoReturn

import grpc


async def unimplemented(context: grpc.aio.ServicerContext[object, object]) -> NoReturn:
    """Abort the call with UNIMPLEMENTED."""
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Diese Funktion ist noch nicht verfügbar.")
    raise AssertionError("unreachable: abort raises")
