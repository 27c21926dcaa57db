"""`Settings`: every group, and the rules that span groups (workers, EdDSA, APP_ENV=prod and test)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from server import origins
from server.config._auth import (
    AuthSettings,
    EncryptionSettings,
    SecretSettings,
)
from server.config._fields import ConfigError, Group, number, variables
from server.config._groups import (
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
from server.config._prod import check_prod
from server.config._source import EnvironmentSource, environment_values, one_line

AppEnv = Literal["dev", "test", "prod"]
G = TypeVar("G", bound=Group)


class Settings(BaseSettings):
    """Typed configuration; `load_settings` builds it from environment variables.

    APP_ENV=test is development with lower bounds tests need (short token lifetimes); nothing else.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)

    app_env: AppEnv = Field(
        "dev",
        validation_alias="APP_ENV",
        description=(
            "`dev`, `prod` or `test`; prod refuses weak or published keys and local CORS origins, and "
            "prints no tracebacks; `test` is `dev` with the lower bounds tests need (short token "
            "lifetimes)"
        ),
    )
    server: ServerSettings = ServerSettings()
    edge: EdgeSettings = EdgeSettings()
    database: DatabaseSettings = DatabaseSettings()
    data_keys: EncryptionSettings = EncryptionSettings()
    limits: LimitSettings = LimitSettings()
    secrets: SecretSettings = Field(default_factory=SecretSettings)
    auth: AuthSettings = AuthSettings()
    retention: RetentionSettings = RetentionSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    conversation: ConversationSettings = ConversationSettings()
    openai: OpenAISettings = OpenAISettings()
    observability: ObservabilitySettings = ObservabilitySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what is passed in: the environment comes through `load_settings(env)`, never implicitly."""
        return (init_settings,)

    @property
    def is_prod(self) -> bool:
        return self.app_env == "prod"

    @model_validator(mode="after")
    def _across_groups(self) -> Settings:
        if self.app_env != "test":
            _check_production_floors(self)
        if self.server.workers > 1 and self.limits.redis_url is None:
            raise ConfigError("WORKERS > 1 needs REDIS_URL (rate limits must be shared between processes)")
        if self.server.workers > 1 and self.secrets.is_ephemeral:
            raise ConfigError("WORKERS > 1 needs SECRET_KEY (every process must sign and check with the same key)")
        if self.server.health_addr is not None and _same_port(self.server.health_addr, self.server.grpc_addr):
            raise ConfigError("HEALTH_ADDR must use another port than GRPC_ADDR")
        if (self.server.tls_cert_file is None) != (self.server.tls_key_file is None):
            raise ConfigError("GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE go together: set both or neither")
        if self.server.tls_client_ca_file is not None and self.server.tls_cert_file is None:
            raise ConfigError("GRPC_TLS_CLIENT_CA_FILE needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (mTLS is TLS)")
        if self.auth.tokens.jwt_algorithm == "EdDSA" and self.auth.tokens.jwt_private_key_pem is None:
            raise ConfigError("JWT_ALGORITHM=EdDSA needs JWT_PRIVATE_KEY_FILE (an Ed25519 PEM key)")
        if self.is_prod:
            try:
                origins.parse_origins(",".join(self.edge.cors_origins), prod=True)
            except origins.OriginError as err:
                raise ConfigError(str(err)) from None
            check_prod(self)
        return self


def _same_port(first: str, second: str) -> bool:
    """Whether two `host:port` addresses name one fixed port (port 0 picks a free one each time)."""
    port = first.rpartition(":")[2]
    return port != "0" and port == second.rpartition(":")[2]


def _check_production_floors(settings: Settings) -> None:
    """Lower bounds only APP_ENV=test may go below (the model's bounds admit the test values)."""
    for variable in variables(Settings):
        if variable.test_floor is None:
            continue
        group: Any = reduce(getattr, variable.group, settings)
        value = getattr(group, variable.field)
        low, high = variable.bounds
        if low is not None and value < low:
            raise ConfigError(
                f"{variable.name} must be between {number(low)} and {number(high or low)}, got {value} "
                "(lower only with APP_ENV=test)"
            )


def load_group(group: type[G], env: Mapping[str, str]) -> G:
    """One group from environment variables, validated as `load_settings` validates it, for a tool that
    needs only that group (scripts/render_envoy.py reads `EdgeSettings`).

    Raises:
        ConfigError: as `load_settings`, for the group's variables only.
    """
    from_files: set[str] = set()
    values = environment_values(group, env, from_files)
    try:
        return group(**values)
    except ValidationError as err:
        raise one_line(err, group, from_files) from None


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build `Settings` from environment variables (pass `os.environ` to read the process's).

    Raises:
        ConfigError: a value is invalid, a secret and its `_FILE` are both set or the file is unreadable,
            or a production requirement is not met; the message is one line naming the variable.
    """
    source = EnvironmentSource(Settings, env)
    values = source()
    try:
        return Settings(**values)
    except ValidationError as err:
        raise one_line(err, Settings, source.from_files) from None
