"""`wuffchat.auth.v1.AuthService`: the RPCs; the rules live in the modules beside this one.

Status codes: INVALID_ARGUMENT (with BadRequest field violations) for a bad email, a password the
policy rejects, a wrong re-entered password or a missing, wrong, expired or replayed CAPTCHA;
ALREADY_EXISTS for a taken email; UNAUTHENTICATED with one identical message for every failed login
and every unusable refresh token; RESOURCE_EXHAUSTED (RetryInfo, `retry-after`) for a throttled IP or
a locked account re-entering its password; PERMISSION_DENIED when an API key calls a user-only RPC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from sqlalchemy.ext.asyncio import AsyncEngine
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

from rpc import call, errors
from rpc.call import Principal
from server.audit import AuditLog
from server.auth.access import AccessTokenVerifier
from server.auth.accounts import EmailTakenError, UserStore, owner_key, roles_of
from server.auth.captcha import Captcha, Solution
from server.auth.emails import InvalidEmailError, normalize_email
from server.auth.export import export_user
from server.auth.login import LoginFailedError, LoginThrottledError, PasswordLogin
from server.auth.passwords import PasswordHasher, PasswordPolicy, normalize_password
from server.auth.refresh import InvalidRefreshError, RefreshReuseError, RefreshStore
from server.auth.sessions import SessionIssuer
from server.storage.models import User

Context = grpc.aio.ServicerContext[object, object]
pb = auth_service_pb2


@dataclass(frozen=True)
class AuthParts:
    """Everything the servicer delegates to (built by server/auth/assembly.py)."""

    engine: AsyncEngine
    audit: AuditLog
    captcha: Captcha
    policy: PasswordPolicy
    hasher: PasswordHasher
    users: UserStore
    login: PasswordLogin
    sessions: SessionIssuer
    refresh: RefreshStore
    access: AccessTokenVerifier


def _violation(field: str, key: str, **params: object) -> error_details_pb2.BadRequest:
    description = errors.message(key, **params)
    return error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field=field, description=description)]
    )


async def _invalid(context: Context, field: str, key: str, **params: object) -> NoReturn:
    await errors.abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument", _violation(field, key, **params))


async def _retry_later(context: Context, key: str, seconds: int) -> NoReturn:
    call.add_trailing_metadata(context, (("retry-after", str(seconds)),))
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))
    await errors.abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, key, retry, retry_after=seconds)


def _solution(request: pb.RegisterRequest | pb.LoginRequest) -> Solution | None:
    if not request.HasField("captcha"):
        return None
    c = request.captcha
    return Solution(algorithm=c.algorithm, challenge=c.challenge, salt=c.salt, number=c.number, signature=c.signature)


class AuthService(auth_service_pb2_grpc.AuthServiceServicer):
    """Accounts, sessions and personal data; see the module docstring for the status codes."""

    def __init__(self, parts: AuthParts) -> None:
        self._p = parts

    async def _captcha(self, context: Context, request: pb.RegisterRequest | pb.LoginRequest) -> None:
        solution = _solution(request)
        if solution is None or not await self._p.captcha.redeem(solution):
            call.note_refusal("captcha_invalid")  # counted as a CAPTCHA failure (rpc/metrics.py)
            await _invalid(context, "captcha", "captcha_invalid")

    async def _user(self, context: Context) -> tuple[Principal, User]:
        principal = call.principal()
        if principal is None or principal.kind != "user":
            await errors.abort(context, grpc.StatusCode.PERMISSION_DENIED, "users_only")
        user = await self._p.users.get(principal.id)
        if user is None:  # erased while the token was in flight
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")
        return principal, user

    async def _recheck(self, context: Context, user: User, field: str, password: str) -> None:
        result = await self._p.login.recheck(user, normalize_password(password), call.current().client_ip)
        if result.locked_for:
            await _retry_later(context, "login_throttled", result.locked_for)
        if not result.ok:
            await _invalid(context, field, "password_wrong")

    async def _check_policy(self, context: Context, field: str, password: str, email: str) -> None:
        broken = self._p.policy.violation(password, email)
        if broken is not None:
            key, params = broken
            await _invalid(context, field, key, **params)

    async def GetCaptcha(self, request: pb.GetCaptchaRequest, context: Context) -> pb.GetCaptchaResponse:
        c = self._p.captcha.issue()
        return pb.GetCaptchaResponse(
            algorithm=c.algorithm,
            challenge=c.challenge,
            salt=c.salt,
            max_number=c.max_number,
            signature=c.signature,
            expires_at=c.expires_at,
        )

    async def Register(self, request: pb.RegisterRequest, context: Context) -> pb.RegisterResponse:
        try:
            email = normalize_email(request.email)
        except InvalidEmailError:
            await _invalid(context, "email", "email_invalid")
        password = normalize_password(request.password)
        await self._check_policy(context, "password", password, email)
        await self._captcha(context, request)  # after the cheap checks, so a typo does not burn the challenge
        try:
            user = await self._p.users.create(email, await self._p.hasher.hash(password))
        except EmailTakenError:
            await errors.abort(context, grpc.StatusCode.ALREADY_EXISTS, "email_taken")
        await self._p.audit.record("user_created", principal=owner_key(user.id))
        return pb.RegisterResponse(user_id=user.id)

    async def Login(self, request: pb.LoginRequest, context: Context) -> pb.LoginResponse:
        await self._captcha(context, request)
        try:
            user = await self._p.login.login(
                request.email, normalize_password(request.password), call.current().client_ip
            )
        except LoginThrottledError as exc:
            await _retry_later(context, "login_throttled", exc.retry_after)
        except LoginFailedError:
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "login_failed")
        tokens, session = await self._p.sessions.open(user)
        await self._p.audit.record(
            "session_created", principal=owner_key(user.id), details={"session": session.family_id}
        )
        return pb.LoginResponse(tokens=tokens)

    async def RefreshToken(self, request: pb.RefreshTokenRequest, context: Context) -> pb.RefreshTokenResponse:
        try:
            tokens = await self._p.sessions.rotate(request.refresh_token)
        except RefreshReuseError as exc:
            await self._p.audit.record(
                "authn_token_reuse",
                severity="critical",
                principal=owner_key(exc.user_id),
                details={"session": exc.family_id},
            )
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "session_invalid")
        except InvalidRefreshError:
            await errors.abort(context, grpc.StatusCode.UNAUTHENTICATED, "session_invalid")
        return pb.RefreshTokenResponse(tokens=tokens)

    async def Logout(self, request: pb.LogoutRequest, context: Context) -> pb.LogoutResponse:
        principal, user = await self._user(context)
        if request.all_sessions:
            await self._p.refresh.revoke(user.id, "logout_all")
        else:
            await self._p.refresh.revoke(user.id, "logout", family_id=principal.session_id)
            if request.refresh_token:
                owned = await self._p.refresh.family_of(request.refresh_token)
                if owned is not None and owned[0] == user.id:  # someone else's token: ignored, no oracle
                    await self._p.refresh.revoke(user.id, "logout", family_id=owned[1])
        await self._deny_current_token(principal)
        await self._p.audit.record("authn_token_revoked", details={"all_sessions": request.all_sessions})
        return pb.LogoutResponse()

    async def _deny_current_token(self, principal: Principal) -> None:
        if principal.token_id is not None:
            await self._p.access.revoke(principal.token_id)

    async def GetProfile(self, request: pb.GetProfileRequest, context: Context) -> pb.GetProfileResponse:
        _, user = await self._user(context)
        return pb.GetProfileResponse(
            user_id=user.id,
            email=user.email,
            created_at=int(user.created_at.timestamp()),
            roles=sorted(roles_of(user)),
        )

    async def ChangePassword(self, request: pb.ChangePasswordRequest, context: Context) -> pb.ChangePasswordResponse:
        principal, user = await self._user(context)
        await self._recheck(context, user, "current_password", request.current_password)
        new_password = normalize_password(request.new_password)
        await self._check_policy(context, "new_password", new_password, user.email)
        await self._p.users.set_password_hash(user.id, await self._p.hasher.hash(new_password))
        ended = await self._p.refresh.revoke(user.id, "password_change", keep=principal.session_id)
        await self._p.audit.record("authn_password_change", details={"sessions_ended": ended})
        return pb.ChangePasswordResponse()

    async def ExportMyData(self, request: pb.ExportMyDataRequest, context: Context) -> pb.ExportMyDataResponse:
        _, user = await self._user(context)
        document = await export_user(self._p.engine, user)
        await self._p.audit.record("data_export", principal=owner_key(user.id))
        return pb.ExportMyDataResponse(json=document)

    async def DeleteAccount(self, request: pb.DeleteAccountRequest, context: Context) -> pb.DeleteAccountResponse:
        principal, user = await self._user(context)
        await self._recheck(context, user, "password", request.password)
        await self._p.users.erase(user.id)
        await self._deny_current_token(principal)
        # the audit trail keeps only the random id, which no longer leads to a person
        await self._p.audit.record("user_deleted", principal=owner_key(user.id))
        return pb.DeleteAccountResponse()
