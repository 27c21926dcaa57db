"""Error scrubbing, third in the chain: nothing internal ever reaches a client.

Sits inside audit (which then logs the scrubbed status the client really gets) and outside auth,
rate limiting, authorization, validation and the handler, so an exception from any of them, in a
unary call or half-way through a stream, is caught here:

- `grpc.aio.AbortError` (a deliberate status, already sent by `context.abort`) passes untouched;
  `rpc.errors.abort` has already dropped details whose type is off the allow-list.
- Database errors (SQLAlchemy, asyncpg, sqlite3) and an unreachable retrieval backend (Weaviate,
  `RetrieverUnavailableError`) become UNAVAILABLE; nothing of the SQL or the backend's answer is
  sent or logged, only the error types.
- A sealed field that does not open (`UnreadableValueError`: altered, copied from another row, or its
  data key is gone) becomes DATA_LOSS with the "data_unreadable" message and the request id; the log
  line names the field, row and key id, never the value. Retrying cannot help, hence not UNAVAILABLE.
- Any other exception becomes INTERNAL with the localized "internal" message carrying the request
  id as reference (and a `google.rpc.RequestInfo`); the traceback goes to the log only.
- A handler that ends with `set_code` and trailing `grpc-status-details-bin` holding a detail type
  off the allow-list gets that trailer removed before the status is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
import structlog
from google.rpc import error_details_pb2

from rpc import call, errors

from .base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed

log = structlog.get_logger(__name__)


def _request_id() -> str:
    try:
        return call.current().request_id
    except LookupError:  # only without the context interceptor (isolation tests)
        return "-"


class ErrorScrubbingInterceptor(Interceptor):
    """Turns unexpected exceptions into INTERNAL / UNAVAILABLE; see the module docstring."""

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        try:
            response = await proceed(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await self._fail(info, context, exc)
        self._scrub_trailing(info, context)
        return response

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        try:
            async for response in proceed(request, context):
                yield response
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await self._fail(info, context, exc)
        self._scrub_trailing(info, context)

    async def _fail(self, info: RpcInfo, context: Context, exc: Exception) -> NoReturn:
        """Abort with UNAVAILABLE (a dependency is down) or INTERNAL (anything else)."""
        rid = _request_id()
        reference = error_details_pb2.RequestInfo(request_id=rid)
        if isinstance(exc, errors.DataUnreadable):
            log.error("sealed_value_unreadable", method=info.method, request_id=rid, problem=str(exc))
            await errors.abort(context, grpc.StatusCode.DATA_LOSS, "data_unreadable", reference, reference=rid)
        if isinstance(exc, errors.DependencyUnavailable):
            cause = exc.__cause__
            cause = getattr(cause, "orig", None) or cause  # the driver's error under SQLAlchemy's wrapper
            # the message of a driver error may hold SQL and bound parameters: types only
            log.error(
                "dependency_unavailable",
                method=info.method,
                request_id=rid,
                dependency=exc.dependency,
                cause_type=type(cause).__name__ if cause is not None else None,
            )
            await errors.abort(context, grpc.StatusCode.UNAVAILABLE, "unavailable", reference)
        log.error("unhandled_exception", method=info.method, request_id=rid, exc_info=exc)
        await errors.abort(context, grpc.StatusCode.INTERNAL, "internal", reference, reference=rid)

    @staticmethod
    def _scrub_trailing(info: RpcInfo, context: Context) -> None:
        trailing = context.trailing_metadata()
        if trailing and not errors.trailing_details_allowed(trailing):
            log.error("status_details_dropped", method=info.method, request_id=_request_id())
            context.set_trailing_metadata(tuple((k, v) for k, v in trailing if k != errors.DETAILS_KEY))
