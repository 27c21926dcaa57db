"""The knowledge tests use the conversation tests' server fixtures (same server, same test API keys)."""

from tests.conversation.conftest import (  # noqa: F401
    Clock,
    clock,
    conv_channel,
    conv_server,
    conversations,
    embedding_cache,
    knowledge,
    start_server,
)
