"""How a setting is declared: its environment variable, default, description and bounds, in one `Field`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message is one line for the console."""


class Group(BaseModel):
    """A group of settings (server, auth, retention ...): immutable, validated, unknown names refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)


def env(
    name: str,
    default: Any,
    description: str,
    *,
    secret: bool = False,
    file_variant: bool | None = None,
    test_floor: float | None = None,
    shown_default: str | None = None,
    **constraints: Any,
) -> Any:
    """A setting read from the environment variable `name`.

    `secret`: the value is never echoed or shown in repr(), and `<name>_FILE` may name a file holding it
    (mounted secrets) unless `file_variant` is False (the variable names a file already).
    `test_floor`: APP_ENV=test accepts values down to it (short lifetimes for tests); other
    environments keep the `ge` bound. `shown_default`: the default as the documentation says it, when
    the value itself does not tell (a random or generated one).
    """
    extra: dict[str, Any] = {"secret": secret, "file_variant": secret if file_variant is None else file_variant}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if test_floor is not None:
        extra["test_floor"] = test_floor
        constraints = {**constraints, "ge": test_floor, "production_ge": constraints["ge"]}
    production_ge = constraints.pop("production_ge", None)
    if production_ge is not None:
        extra["production_ge"] = production_ge
    return Field(
        default,
        validation_alias=name,
        description=description,
        repr=not secret,
        json_schema_extra=extra,
        **constraints,
    )


@dataclass(frozen=True)
class Variable:
    """One environment variable of the model: where it lands (group path, field) and how it is declared."""

    name: str
    group: tuple[str, ...]
    field: str
    info: FieldInfo

    @property
    def secret(self) -> bool:
        return bool(_extra(self.info).get("secret"))

    @property
    def file_variant(self) -> str | None:
        """`<name>_FILE`, when the value may come from a file."""
        return f"{self.name}_FILE" if _extra(self.info).get("file_variant") else None

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(lowest outside APP_ENV=test, highest) as the constraints say; None where unbounded."""
        low: float | None = None
        high: float | None = None
        for item in self.info.metadata:
            if isinstance(item, annotated_types.Ge):
                low = float(item.ge)  # type: ignore[arg-type]
            elif isinstance(item, annotated_types.Le):
                high = float(item.le)  # type: ignore[arg-type]
        production = _extra(self.info).get("production_ge")
        return (production if production is not None else low), high

    @property
    def shown_default(self) -> str | None:
        shown = _extra(self.info).get("shown_default")
        return None if shown is None else str(shown)

    @property
    def test_floor(self) -> float | None:
        floor = _extra(self.info).get("test_floor")
        return None if floor is None else float(floor)


def number(value: float) -> str:
    """A bound or default as people write it: 65536, 0.05, 16777216."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _extra(info: FieldInfo) -> dict[str, Any]:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def variables(model: type[BaseModel], group: tuple[str, ...] = ()) -> Iterator[Variable]:
    """Every environment variable of `model`, groups depth first, in declaration order."""
    for field, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from variables(annotation, (*group, field))
        elif isinstance(info.validation_alias, str):
            yield Variable(info.validation_alias, group, field, info)
