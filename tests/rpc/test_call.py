"""Per-call state outside grpc: `authenticated` gives the chain's principal, or fails loudly without one."""

from __future__ import annotations

import pytest

from rpc import call
from rpc.call import CallState, Principal


def test_authenticated_outside_a_call_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        call.authenticated()


def test_authenticated_is_the_principal_the_chain_set() -> None:
    state = CallState(method="/pkg.S/M", request_id="r" * 8, client_ip="127.0.0.1")
    token = call.bind(state)
    try:
        with pytest.raises(LookupError):  # the context step ran, authentication did not
            call.authenticated()
        state.principal = Principal(id="u1", kind="user")
        assert call.authenticated().owner_key == "user:u1"
    finally:
        call.reset(token)
