"""`wuffchat.knowledge.v1.KnowledgeService`: search for any principal; upsert and delete for role admin.

Who may call what is the contracts' method policy, which the chain enforces (authentication, then
authorization for role admin) before a handler runs; the chain's validation has normalized the
request and checked the contract's field rules (query length and content, limit, language). Raises
INVALID_ARGUMENT with BadRequest details for a behaviour that breaks the knowledge schema (the
loader's rules, beyond what the contract says), NOT_FOUND for deleting an unknown slug. Upserts and
deletes take effect at once (re-indexed) and persist (store.py).
"""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from google.protobuf.json_format import MessageToDict
from google.rpc import error_details_pb2
from pydantic import ValidationError
from wuffchat.knowledge.v1 import knowledge_service_pb2 as pb
from wuffchat.knowledge.v1 import knowledge_service_pb2_grpc

from rpc import errors
from server.audit import AuditLog

from . import loader, schema
from .search import KnowledgeSearch
from .store import KnowledgeStore

Context = grpc.aio.ServicerContext[object, object]
DEFAULT_LIMIT = 5


def _behavior_dict(message: pb.Behavior) -> dict[str, Any]:
    data = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    data["instinct_weights"] = {k: int(v) for k, v in data.get("instinct_weights", {}).items()}
    return data


def _field(location: str) -> str:
    """A schema location as the request's field path: `en.phrasings[2]` is `behavior.en.phrasings[2]`."""
    return f"behavior.{location}" if location else "behavior"


class KnowledgeService(knowledge_service_pb2_grpc.KnowledgeServiceServicer):
    def __init__(self, store: KnowledgeStore, search: KnowledgeSearch, *, audit: AuditLog | None = None) -> None:
        self._store = store
        self._search = search
        self._audit = audit  # knowledge_changed goes on the record with the admin principal and the slug

    async def SearchBehaviors(self, request: pb.SearchBehaviorsRequest, context: Context) -> pb.SearchBehaviorsResponse:
        result = await self._search.search(
            request.query,
            request.limit or DEFAULT_LIMIT,
            language=request.language or "de",
            behaviors=self._store.base.behaviors,
        )
        return pb.SearchBehaviorsResponse(
            matches=[pb.BehaviorMatch(id=m.id, title=m.title, score=m.score) for m in result.matches]
        )

    async def UpsertBehavior(self, request: pb.UpsertBehaviorRequest, context: Context) -> pb.UpsertBehaviorResponse:
        try:
            behavior = schema.BehaviorDoc.model_validate(_behavior_dict(request.behavior)).to_behavior()
        except ValidationError as error:
            await _invalid(context, [(_field(location), message) for location, message in schema.findings(error)])
        try:
            created = await self._store.upsert(behavior)
        except loader.UnknownExercisesError as error:
            await _invalid(context, [("behavior.exercises", f"unknown exercise {name!r}") for name in error.names])
        await self._changed("upsert", behavior.id, created=created)
        return pb.UpsertBehaviorResponse(created=created)

    async def DeleteBehavior(self, request: pb.DeleteBehaviorRequest, context: Context) -> pb.DeleteBehaviorResponse:
        if not await self._store.delete(request.id):
            await errors.abort(context, grpc.StatusCode.NOT_FOUND, "behavior_not_found")
        await self._changed("delete", request.id)
        return pb.DeleteBehaviorResponse()

    async def _changed(self, action: str, slug: str, **details: object) -> None:
        if self._audit is not None:
            await self._audit.record("knowledge_changed", details={"action": action, "slug": slug, **details})


async def _invalid(context: Context, violations: list[tuple[str, str]]) -> NoReturn:
    details = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations]
    )
    await errors.abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument", details)
