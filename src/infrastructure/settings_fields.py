"""The kinds of value the settings loader reads beyond environs' own (str, path), as
marshmallow fields. Each error message says what is expected and never repeats the value: the
loader shows it, or hides it when it is a secret."""

import re
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow.validate import OneOf, Range

from kv_api.infrastructure.settings import TarantoolAddress


class _Whole(ma.fields.Integer):
    def __init__(self, *, low: int, high: int, **kwargs: Any) -> None:
        hint = f"expected a whole number from {low} to {high}"
        kwargs.update(validate=Range(low, high, error=hint))
        super().__init__(error_messages={"invalid": hint, "too_large": hint}, **kwargs)


class _Limit(ma.fields.Field[int | None]):
    """A whole number, or `none` for no limit at all (None)."""

    def __init__(self, *, low: int, high: int, **kwargs: Any) -> None:
        self._low, self._high = low, high
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        text = str(value).strip().lower()
        if text == "none":
            return None
        hint = f"expected a whole number from {self._low} to {self._high}, or none"
        if not (text.isascii() and text.isdigit()) or not self._low <= int(text) <= self._high:
            raise ma.ValidationError(hint)
        return int(text)


class _Number(ma.fields.Float):
    def __init__(self, *, low: float, high: float, **kwargs: Any) -> None:
        hint = f"expected a number from {low} to {high}"
        kwargs.update(validate=Range(low, high, error=hint))
        super().__init__(
            error_messages={"invalid": hint, "too_large": hint, "special": hint}, **kwargs
        )


class _Flag(ma.fields.Boolean):
    """Exactly true/false, 1/0, yes/no, on/off in any case (marshmallow adds t/f/y/n)."""

    truthy = {"1", "true", "yes", "on"}
    falsy = {"0", "false", "no", "off"}
    default_error_messages = {"invalid": "expected true or false"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        return super()._deserialize(str(value).lower(), attr, data, **kwargs)


class _Choice(ma.fields.String):
    def __init__(self, *, options: Collection[str], upper: bool = False, **kwargs: Any) -> None:
        self._upper = upper
        hint = "expected one of " + ", ".join(sorted(options))
        kwargs.update(validate=OneOf(options, error=hint))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.upper() if self._upper else text.lower()


class _Address(ma.fields.Field[TarantoolAddress]):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> TarantoolAddress:
        try:
            return TarantoolAddress.parse(str(value))
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class _Addresses(ma.fields.Field[tuple[TarantoolAddress, ...]]):
    def _deserialize(
        self, value: Any, attr: Any, data: Any, **kwargs: Any
    ) -> tuple[TarantoolAddress, ...]:
        addresses = []
        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        for number, part in enumerate(parts, 1):
            try:
                addresses.append(TarantoolAddress.parse(part))
            except ValueError as exc:
                hint = f"expected host:port[,host:port...] (address {number}: {exc})"
                raise ma.ValidationError(hint) from None
        return tuple(addresses)


_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def web_origin(text: str) -> str:
    """`scheme://host[:port]` as a browser sends it in `Origin` (lower case, no default port),
    since CORS compares origins as strings; a trailing `/` is forgiven."""
    if text in {"*", "null"}:
        raise ValueError(f"{text} is not allowed: list each origin")
    if "://" not in text:
        raise ValueError("no scheme://")
    if any(char in text for char in "?#@\\ "):
        raise ValueError("a user, query, fragment or space is no part of an origin")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 0 to 65535") from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if not _SCHEME.fullmatch(scheme) or not host:
        raise ValueError("no scheme or no host")
    if parts.path not in {"", "/"}:
        raise ValueError("a path is no part of an origin")
    host = f"[{host}]" if ":" in host else host
    shown_port = "" if port is None or _DEFAULT_PORTS.get(scheme) == port else f":{port}"
    return f"{scheme}://{host}{shown_port}"


class _Origins(ma.fields.Field[tuple[str, ...]]):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[str, ...]:
        origins: list[str] = []
        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        for number, part in enumerate(parts, 1):
            try:
                origin = web_origin(part)
            except ValueError as exc:
                hint = f"expected scheme://host[:port][,...] (origin {number}: {exc})"
                raise ma.ValidationError(hint) from None
            if origin not in origins:
                origins.append(origin)
        return tuple(origins)


class _Login(ma.fields.Field[tuple[str, str]]):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[str, str]:
        name, sep, password = str(value).partition(":")
        if not sep or not name or not password:
            raise ma.ValidationError("expected name:password")
        return name, password


def at_least_bytes(size: int, what: str) -> Callable[[str], None]:
    """A validator for secrets: their length counts in UTF-8 bytes, as the key they make."""

    def check(secret: str) -> None:
        if len(secret.encode()) < size:
            raise ma.ValidationError(f"too short ({what} must be at least {size} bytes)")

    return check


FIELDS: dict[str, type[ma.fields.Field[Any]]] = {
    "whole": _Whole,
    "limit": _Limit,
    "number": _Number,
    "flag": _Flag,
    "choice": _Choice,
    "address": _Address,
    "addresses": _Addresses,
    "login": _Login,
    "origins": _Origins,
}
