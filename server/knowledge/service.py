"""`wuffchat.knowledge.v1.KnowledgeService`: not built yet, every RPC answers UNIMPLEMENTED (issue 5)."""

from __future__ import annotations

import grpc
from wuffchat.knowledge.v1 import knowledge_service_pb2, knowledge_service_pb2_grpc

from server.unimplemented import unimplemented

Context = grpc.aio.ServicerContext[object, object]


class KnowledgeService(knowledge_service_pb2_grpc.KnowledgeServiceServicer):
    """Every RPC of KnowledgeService answers UNIMPLEMENTED until issue 5 builds it."""

    async def SearchBehaviors(
        self, request: knowledge_service_pb2.SearchBehaviorsRequest, context: Context
    ) -> knowledge_service_pb2.SearchBehaviorsResponse:
        await unimplemented(context)

    async def UpsertBehavior(
        self, request: knowledge_service_pb2.UpsertBehaviorRequest, context: Context
    ) -> knowledge_service_pb2.UpsertBehaviorResponse:
        await unimplemented(context)

    async def DeleteBehavior(
        self, request: knowledge_service_pb2.DeleteBehaviorRequest, context: Context
    ) -> knowledge_service_pb2.DeleteBehaviorResponse:
        await unimplemented(context)
