"""Read and validate the environment once, at start; everything else receives typed settings.

`load_settings(env)` builds the pydantic-settings model `Settings` from a mapping of environment
variables; its groups (`settings.auth`, `settings.retention` ...) go to the parts that use them. A bad
value raises `ConfigError` with a one-line message naming the variable; `python -m server` turns it into
exit code 2. `python -m server config env-table` prints every variable (README's table is that output).
"""

from server.config._auth import (
    AuthSettings,
    EncryptionSettings,
    LoginSettings,
    SecretSettings,
    TokenSettings,
)
from server.config._fields import ConfigError
from server.config._groups import (
    DEFAULT_DATABASE_URL,
    ConversationSettings,
    DatabaseSettings,
    EdgeSettings,
    KnowledgeSettings,
    LimitSettings,
    ObservabilitySettings,
    OpenAISettings,
    RetentionSettings,
    ServerSettings,
)
from server.config._parse import API_KEY_NAME, API_KEY_ROLES, DEFAULT_RATE_LIMIT, DEFAULT_RATE_LIMITS, ApiKeySpec
from server.config._prod import weakened
from server.config._settings import Settings, load_group, load_settings

__all__ = [
    "API_KEY_NAME",
    "API_KEY_ROLES",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_RATE_LIMITS",
    "ApiKeySpec",
    "AuthSettings",
    "ConfigError",
    "ConversationSettings",
    "DatabaseSettings",
    "EdgeSettings",
    "EncryptionSettings",
    "KnowledgeSettings",
    "LimitSettings",
    "LoginSettings",
    "ObservabilitySettings",
    "OpenAISettings",
    "RetentionSettings",
    "SecretSettings",
    "ServerSettings",
    "Settings",
    "TokenSettings",
    "load_group",
    "load_settings",
    "weakened",
]
