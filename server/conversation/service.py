"""`wuffchat.conversation.v1.ConversationService`: not built yet, every RPC answers UNIMPLEMENTED (issue 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from wuffchat.conversation.v1 import conversation_service_pb2, conversation_service_pb2_grpc

from server.unimplemented import unimplemented

Context = grpc.aio.ServicerContext[object, object]


class ConversationService(conversation_service_pb2_grpc.ConversationServiceServicer):
    """Every RPC of ConversationService answers UNIMPLEMENTED until issue 5 builds it."""

    async def StartConversation(
        self, request: conversation_service_pb2.StartConversationRequest, context: Context
    ) -> conversation_service_pb2.StartConversationResponse:
        await unimplemented(context)

    async def SendMessage(
        self, request: conversation_service_pb2.SendMessageRequest, context: Context
    ) -> conversation_service_pb2.SendMessageResponse:
        await unimplemented(context)

    async def StreamMessage(
        self, request: conversation_service_pb2.StreamMessageRequest, context: Context
    ) -> AsyncIterator[conversation_service_pb2.StreamMessageResponse]:
        await unimplemented(context)
        yield  # makes this an async generator, as a server stream is

    async def GetConversation(
        self, request: conversation_service_pb2.GetConversationRequest, context: Context
    ) -> conversation_service_pb2.GetConversationResponse:
        await unimplemented(context)

    async def ListConversations(
        self, request: conversation_service_pb2.ListConversationsRequest, context: Context
    ) -> conversation_service_pb2.ListConversationsResponse:
        await unimplemented(context)

    async def DeleteConversation(
        self, request: conversation_service_pb2.DeleteConversationRequest, context: Context
    ) -> conversation_service_pb2.DeleteConversationResponse:
        await unimplemented(context)
