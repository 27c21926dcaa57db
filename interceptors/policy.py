"""Method policy from the contracts: which methods are public, which roles they need, their rate limit.

Every RPC of our services carries `option (wuffchat.api.v1.policy)` in protos/ (and read-only ones the
standard `idempotency_level = NO_SIDE_EFFECTS`). This module reads the options once from the
generated descriptors, so the selector, authorization, rate limiting and the clients ask one table
instead of keeping lists of their own. A method without a policy stops the import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from google.protobuf import descriptor, descriptor_pb2
from wuffchat.api.v1 import policy_pb2
from wuffchat.auth.v1 import auth_service_pb2
from wuffchat.conversation.v1 import conversation_service_pb2
from wuffchat.knowledge.v1 import knowledge_service_pb2

SERVICES: tuple[descriptor.ServiceDescriptor, ...] = (
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"],
    conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"],
    knowledge_service_pb2.DESCRIPTOR.services_by_name["KnowledgeService"],
)
_ROLE_PREFIX = "ROLE_"
_NO_SIDE_EFFECTS = descriptor_pb2.MethodOptions.IdempotencyLevel.NO_SIDE_EFFECTS


class MissingPolicyError(LookupError):
    """An RPC of our services has no `(wuffchat.api.v1.policy)` option."""


@dataclass(frozen=True)
class MethodPolicy:
    """The policy of one method, read from its options."""

    name: str  # the RPC name, as RATE_LIMITS spells it ("Login")
    public: bool
    roles: frozenset[str]  # lower-case role names ("admin"); empty: any authenticated principal
    rate_limit: str | None  # "<n>/<period>", None: the server's default
    idempotent: bool  # no side effects: a client may resend it after UNAVAILABLE


def path(service: descriptor.ServiceDescriptor, method: descriptor.MethodDescriptor) -> str:
    return f"/{service.full_name}/{method.name}"


def _role_name(number: int) -> str:
    return policy_pb2.Role.Name(number).removeprefix(_ROLE_PREFIX).lower()  # type: ignore[arg-type]


def _policy(service: descriptor.ServiceDescriptor, method: descriptor.MethodDescriptor) -> MethodPolicy:
    options = method.GetOptions()
    if not options.HasExtension(policy_pb2.policy):
        raise MissingPolicyError(f"{path(service, method)} has no (wuffchat.api.v1.policy) option")
    found = options.Extensions[policy_pb2.policy]
    return MethodPolicy(
        name=method.name,
        public=found.public,
        roles=frozenset(_role_name(role) for role in found.roles),
        rate_limit=found.rate_limit or None,
        idempotent=options.idempotency_level == _NO_SIDE_EFFECTS,
    )


def read(services: Iterable[descriptor.ServiceDescriptor] = SERVICES) -> Mapping[str, MethodPolicy]:
    """Full method path ("/pkg.Service/Method") -> its policy.

    Raises:
        MissingPolicyError: a method carries no policy option.
    """
    return {path(service, method): _policy(service, method) for service in services for method in service.methods}


POLICIES: Mapping[str, MethodPolicy] = read()
