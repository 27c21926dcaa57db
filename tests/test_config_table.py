"""README's environment-variable table is the one the settings model generates; every field describes itself."""

from __future__ import annotations

from server.config import Settings
from server.config._fields import variables
from server.config.env_table import COMMAND, END, START, markdown, render_into
from tests.support.process import ROOT, run_server


def test_readme_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, f"README.md lacks the table markers; add them and run `{COMMAND}`"
    assert render_into(readme) == readme, f"README.md's environment table is stale: run `{COMMAND}`"


def test_every_variable_has_a_description_and_one_name() -> None:
    found = list(variables(Settings))
    names = [variable.name for variable in found]
    assert len(names) == len(set(names)), "a variable lands in two fields"
    assert [v.name for v in found if not (v.info.description or "").strip()] == []
    assert {"SECRET_KEY", "API_KEYS", "ARGON2_MEMORY_KIB", "RETENTION_AUDIT_DAYS", "OPENAI_API_KEY"} <= set(names)


def test_table_names_file_variants_and_test_floors() -> None:
    table = markdown()
    for secret in ("SECRET_KEY", "SECRET_KEY_PREVIOUS", "API_KEYS", "OPENAI_API_KEY", "DATABASE_URL", "REDIS_URL"):
        assert f"`{secret}_FILE`" in table, secret
    row = next(line for line in table.splitlines() if line.startswith("| `ACCESS_TOKEN_TTL_SECONDS` |"))
    assert "60 to 3600" in row and "`APP_ENV=test`: from 1" in row and "`settings.auth.tokens`" in row


def test_command_prints_the_table_without_reading_the_configuration() -> None:
    result = run_server({"GRPC_ADDR": "nowhere"}, "config", "env-table")
    assert result.returncode == 0, result.stderr
    assert result.stdout == markdown()
