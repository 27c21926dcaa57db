"""The environment as a pydantic-settings source, and pydantic's errors as one line naming the variable.

Variable names stay flat (`ARGON2_MEMORY_KIB`, not `AUTH__ARGON2_MEMORY_KIB`): the source places each
variable into its group by the model's own declaration (`_fields.variables`). A secret may come from
`<NAME>_FILE` instead (a mounted file; one trailing newline is not part of it), never from both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from server.config._fields import ConfigError, Variable, number, variables

FILE_SUFFIX = "_FILE"
_RANGE_ERRORS = ("greater_than_equal", "less_than_equal", "greater_than", "less_than")


def read_secret_file(name: str, path: str) -> str:
    """The content of the file `path` names, without its trailing line break; the message never quotes it.

    Raises:
        ConfigError: the file cannot be read or is not UTF-8 text.
    """
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{name}: cannot read {path!r}") from None


class EnvironmentSource(PydanticBaseSettingsSource):
    """Values of `settings_cls` from one mapping of environment variables (never os.environ implicitly).

    An empty or blank variable counts as unset. `from_files` lists the variables read from `<NAME>_FILE`.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ
        self.from_files: set[str] = set()

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field.validation_alias if isinstance(field.validation_alias, str) else field_name
        return _raw(self._environ, name, None), name, False

    def __call__(self) -> dict[str, Any]:
        return environment_values(self.settings_cls, self._environ, self.from_files)


def environment_values(model: type[BaseModel], environ: Mapping[str, str], from_files: set[str]) -> dict[str, Any]:
    """The variables of `model` that `environ` sets, nested by group and keyed by variable name; the
    names read from `<NAME>_FILE` are added to `from_files`."""
    values: dict[str, Any] = {}
    for variable in variables(model):
        raw = _raw(environ, variable.name, variable.file_variant)
        if raw is None:
            continue
        if variable.file_variant and environ.get(variable.file_variant, "").strip():
            from_files.add(variable.name)
        target = values
        for group in variable.group:
            target = target.setdefault(group, {})
        target[variable.name] = raw
    return values


def _raw(environ: Mapping[str, str], name: str, file_variant: str | None) -> str | None:
    value = environ.get(name, "").strip()
    path = environ.get(file_variant, "").strip() if file_variant else ""
    if value and path:
        raise ConfigError(f"set {name} or {file_variant}, not both")
    if file_variant and path:
        value = read_secret_file(file_variant, path).strip()
    return value or None


def one_line(error: ValidationError, model: type[BaseModel], from_files: Collection[str] = ()) -> ConfigError:
    """The first problem of `error` as a ConfigError naming the variable; a secret's value is never shown."""
    known = {variable.name: variable for variable in variables(model)}
    detail = error.errors()[0]
    name = next((str(part) for part in reversed(detail["loc"]) if str(part) in known), None)
    message = _message(detail, known[name] if name else None)
    if name is not None and name in from_files:
        message = message.replace(name, f"{name} (from {name}{FILE_SUFFIX})", 1)
    return ConfigError(" ".join(message.split()))


def _message(detail: ErrorDetails, variable: Variable | None) -> str:
    cause = (detail.get("ctx") or {}).get("error")
    if variable is None:  # a check across groups (model validator): its message names the variables
        return str(cause) if isinstance(cause, Exception) else detail["msg"]
    name, kind = variable.name, detail["type"]
    shown = "" if variable.secret else f", got {detail['input']!r}"
    if isinstance(cause, Exception):
        text = str(cause)
    elif kind in _RANGE_ERRORS:
        low, high = variable.bounds
        got = "" if variable.secret else f", got {detail['input']}"
        text = f"must be between {_number(low)} and {_number(high)}{got}"
    elif kind == "int_parsing":
        text = f"must be an integer{shown}"
    elif kind in ("float_parsing", "float_type"):
        text = f"must be a number{shown}"
    elif kind == "literal_error":
        text = f"must be {(detail.get('ctx') or {}).get('expected', 'one of the listed values')}{shown}"
    else:
        text = f"is invalid ({detail['msg']})"
    return text if text.startswith(name) else f"{name} {text}"


def _number(value: float | None) -> str:
    return "any" if value is None else number(value)
