"""Building blocks of the config model: the base model, field helper and shared field types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

def _fail(kind: str, allowed: str) -> PydanticCustomError:
    return PydanticCustomError(kind, allowed)


def _field(default: Any = ..., *, description: str, allowed: str, **kw: Any) -> Any:
    return Field(default, description=description, json_schema_extra={"allowed": allowed}, **kw)


def _strict_str(allowed: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise _fail("string_type", allowed)
        return value

    return BeforeValidator(check)


def checked_str(kind: str, allowed: str, accept: Callable[[str], object]) -> Any:
    """A string field type: no coercion from other types, and ``accept`` must hold; either way
    the error is ``allowed``, which the one-line config error shows."""

    def check(value: str) -> str:
        if not accept(value):
            raise _fail(kind, allowed)
        return value

    return Annotated[str, _strict_str(allowed), AfterValidator(check)]


RETENTION_ALLOWED = "one of " + ", ".join(map(str, LOG_RETENTION_DAYS))


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise _fail("retention", RETENTION_ALLOWED)
    return value


RetentionDays = Annotated[int, Field(strict=True), AfterValidator(_check_retention)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        frozen=True,
    )


def _int(lo: int, hi: int, what: str = "a whole number") -> tuple[Any, str]:
    allowed = f"{what} from {lo} to {hi}"

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _fail("int_range", allowed)
        return value

    return Annotated[int, BeforeValidator(check)], allowed


HEALTH_PATH_ALLOWED = "a URL path starting with / (at most 1024 characters), without wildcards"
HealthPath = checked_str("health_path", HEALTH_PATH_ALLOWED, lambda value: value.startswith("/") and len(value) <= 1024 and not any(c in value for c in "*? "))
