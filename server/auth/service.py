"""`wuffchat.auth.v1.AuthService`: not built yet, every RPC answers UNIMPLEMENTED (issue 3)."""

from __future__ import annotations

import grpc
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

from server.unimplemented import unimplemented

Context = grpc.aio.ServicerContext[object, object]


class AuthService(auth_service_pb2_grpc.AuthServiceServicer):
    """Every RPC of AuthService answers UNIMPLEMENTED until issue 3 builds it."""

    async def GetCaptcha(
        self, request: auth_service_pb2.GetCaptchaRequest, context: Context
    ) -> auth_service_pb2.GetCaptchaResponse:
        await unimplemented(context)

    async def Register(
        self, request: auth_service_pb2.RegisterRequest, context: Context
    ) -> auth_service_pb2.RegisterResponse:
        await unimplemented(context)

    async def Login(self, request: auth_service_pb2.LoginRequest, context: Context) -> auth_service_pb2.LoginResponse:
        await unimplemented(context)

    async def RefreshToken(
        self, request: auth_service_pb2.RefreshTokenRequest, context: Context
    ) -> auth_service_pb2.RefreshTokenResponse:
        await unimplemented(context)

    async def Logout(
        self, request: auth_service_pb2.LogoutRequest, context: Context
    ) -> auth_service_pb2.LogoutResponse:
        await unimplemented(context)

    async def GetProfile(
        self, request: auth_service_pb2.GetProfileRequest, context: Context
    ) -> auth_service_pb2.GetProfileResponse:
        await unimplemented(context)

    async def ChangePassword(
        self, request: auth_service_pb2.ChangePasswordRequest, context: Context
    ) -> auth_service_pb2.ChangePasswordResponse:
        await unimplemented(context)

    async def ExportMyData(
        self, request: auth_service_pb2.ExportMyDataRequest, context: Context
    ) -> auth_service_pb2.ExportMyDataResponse:
        await unimplemented(context)

    async def DeleteAccount(
        self, request: auth_service_pb2.DeleteAccountRequest, context: Context
    ) -> auth_service_pb2.DeleteAccountResponse:
        await unimplemented(context)
