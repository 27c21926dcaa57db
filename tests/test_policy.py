"""The method policy in the contracts: every RPC has one, and the chain and clients read the same table."""

from __future__ import annotations

import limits
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from wuffchat.api.v1 import policy_pb2
from wuffchat_client._channel import IDEMPOTENT_METHODS

from interceptors import policy, selector
from interceptors.authz import REQUIRED_ROLES
from server.config import DEFAULT_RATE_LIMITS


def test_every_rpc_of_our_services_carries_a_policy() -> None:
    methods = {policy.path(s, m) for s in policy.SERVICES for m in s.methods}
    assert set(policy.POLICIES) == methods
    assert len(methods) == 18


def _service_without_policy() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name="nopolicy.proto", package="nopolicy", syntax="proto3")
    proto.dependency.append("wuffchat/api/v1/policy.proto")
    proto.message_type.add(name="Empty")
    service = proto.service.add(name="Bare")
    service.method.add(name="WithPolicy", input_type=".nopolicy.Empty", output_type=".nopolicy.Empty")
    service.method[0].options.Extensions[policy_pb2.policy].public = True
    service.method.add(name="Forgotten", input_type=".nopolicy.Empty", output_type=".nopolicy.Empty")
    return proto


def test_a_method_without_policy_is_refused() -> None:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(descriptor_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(policy_pb2.DESCRIPTOR.serialized_pb)
    file = pool.AddSerializedFile(_service_without_policy().SerializeToString())
    with pytest.raises(policy.MissingPolicyError, match=r"/nopolicy\.Bare/Forgotten"):
        policy.read([file.services_by_name["Bare"]])


def test_public_methods_are_the_way_in_and_need_no_role() -> None:
    assert {m.rsplit("/", 1)[1] for m in selector.PUBLIC_METHODS} == {"GetCaptcha", "Register", "Login", "RefreshToken"}
    assert all(not policy.POLICIES[m].roles for m in selector.PUBLIC_METHODS)


def test_admin_methods_come_from_the_policy() -> None:
    assert {m.rsplit("/", 1)[1]: r for m, r in REQUIRED_ROLES.items()} == {
        "UpsertBehavior": frozenset({"admin"}),
        "DeleteBehavior": frozenset({"admin"}),
    }


def test_default_rate_limits_come_from_the_policy_and_parse() -> None:
    table = dict(DEFAULT_RATE_LIMITS)
    assert table["Login"] == "5/minute" and table["Register"] == "3/minute" and table["default"] == "60/minute"
    for value in table.values():
        assert limits.parse(value).amount >= 1


def test_the_python_client_retries_exactly_the_read_only_methods() -> None:
    names = {method for _, method in IDEMPOTENT_METHODS}
    assert {"Check", "GetCaptcha", "GetProfile", "ExportMyData", "GetConversation", "SearchBehaviors"} <= names
    assert not names & {"Login", "Register", "SendMessage", "StreamMessage", "RefreshToken", "DeleteAccount"}
