"""The one place that decides which methods an interceptor applies to (go-grpc-middleware's selector).

chain.py passes one of these predicates as `applies=` to each interceptor.
"""

from __future__ import annotations

from collections.abc import Callable

from .policy import POLICIES

Matcher = Callable[[str], bool]

HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIXES = ("/grpc.reflection.v1alpha.ServerReflection/", "/grpc.reflection.v1.ServerReflection/")
WUFFCHAT_PREFIX = "/wuffchat."

# Methods that need no principal besides health and reflection: the way in (SPEC.md section 5), as
# the contracts' method policy says.
PUBLIC_METHODS = frozenset(method for method, found in POLICIES.items() if found.public)


def is_health(method: str) -> bool:
    return method.startswith(HEALTH_PREFIX)


def is_reflection(method: str) -> bool:
    return method.startswith(REFLECTION_PREFIXES)


def is_infrastructure(method: str) -> bool:
    """Health and reflection: probes and tools, never rate limited or validated."""
    return is_health(method) or is_reflection(method)


def is_public(method: str) -> bool:
    """No authentication needed."""
    return is_infrastructure(method) or method in PUBLIC_METHODS


def needs_principal(method: str) -> bool:
    return not is_public(method)


def is_wuffchat(method: str) -> bool:
    """Our own services (the ones with protovalidate rules)."""
    return method.startswith(WUFFCHAT_PREFIX)


def is_protected_wuffchat(method: str) -> bool:
    """Our own methods that need a principal: the ones authorization checks."""
    return is_wuffchat(method) and needs_principal(method)
