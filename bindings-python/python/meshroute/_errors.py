"""The exceptions meshroute raises. All derive from :class:`Error`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._native import Message


class Error(Exception):
    """Base class of every exception meshroute raises on purpose."""


class ConfigError(Error, ValueError):
    """The configuration was rejected (``strict=True``, or a route-test file
    that cannot be read as one). ``messages`` lists the problems found, as
    :class:`Message` objects (empty when the problem is not about a resource).
    """

    messages: List[Message]

    def __init__(self, text: str, messages: Iterable[Message] = ()) -> None:
        super().__init__(text)
        self.messages = list(messages)


class RequestError(Error, ValueError):
    """The request is malformed or over a limit (the configuration is fine)."""
