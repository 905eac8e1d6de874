"""One exception hierarchy for every speech service.

Messages never contain an API key or a request header: they are safe to log
and to show to users.
"""

from __future__ import annotations


class SpeechError(Exception):
    """Base class for every error raised by this package."""


class SpeechConnectionError(SpeechError):
    """The service could not be reached, or the connection broke."""


class SpeechTimeoutError(SpeechConnectionError):
    """The service did not answer (connect, first byte or between chunks) in time."""


class SpeechAuthenticationError(SpeechError):
    """The key or token was rejected (HTTP 401/403)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the HTTP status: only a 401 says a token may have expired."""
        super().__init__(message)
        self.status = status


class SpeechRateLimitedError(SpeechError):
    """Too many requests (HTTP 429)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep how many seconds the service asked us to wait, if it said."""
        super().__init__(message)
        self.retry_after = retry_after


class SpeechBadRequestError(SpeechError):
    """The service refused the request (HTTP 400/415), with its reason if it gave one."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        """Keep the service's own explanation, if it gave one."""
        super().__init__(message)
        self.reason = reason


class EncodingNotSupportedError(SpeechBadRequestError):
    """The voice does not speak the encoding asked for (Convai's MP3): ask for another."""


class SpeechServiceError(SpeechError):
    """The service failed (HTTP 5xx or an unexpected status)."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Keep the HTTP status and, for a 503, when to come back if it said."""
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class NotOfferedError(SpeechServiceError):
    """The endpoint does not offer this API (HTTP 404 on a custom endpoint).

    Azure Speech containers take speech to text over WebSocket only, so the
    REST API for short audio is not found on them. `host` names the endpoint.
    """

    def __init__(self, message: str, host: str) -> None:
        """Name the endpoint that does not offer the API."""
        super().__init__(message, status=404)
        self.host = host


class SpeechResponseError(SpeechError):
    """The service answered with something that is not what the API documents."""


class InvalidRequestError(SpeechError, ValueError):
    """Our caller's input cannot be sent: caught before any request is made.

    `field` names the option (``"rate"``, ``"style"``, ``"ssml"`` …) so callers
    can map it to a translated message; `value` is the offending value as text.
    """

    def __init__(self, message: str, field: str, value: str = "") -> None:
        """Name the offending field and value."""
        super().__init__(message)
        self.field = field
        self.value = value


class InvalidOptionError(InvalidRequestError):
    """An option of a type it can never have (a number for a voice).

    `field` names the option; `value` is the value as Python writes it.
    """


class NoVoiceForLanguageError(InvalidRequestError):
    """No voice speaks the language asked for; `value` is the language."""


class StyleRequiredError(InvalidRequestError):
    """A setting that only qualifies a style (a role, a style degree) given without one."""


class UnknownVoiceError(InvalidRequestError):
    """A voice the service's voice list does not have; `suggestions` are close names."""

    def __init__(
        self, message: str, voice: str, suggestions: tuple[str, ...] = ()
    ) -> None:
        """Name the voice and the known voices closest to it."""
        super().__init__(message, field="voice", value=voice)
        self.suggestions = suggestions


class UnsupportedByVoiceError(InvalidRequestError):
    """A setting or SSML element the chosen voice does not take (HD voices).

    `field` names the setting (``"rate"``) or the element (``"break"``);
    `voice` is the voice's name.
    """

    def __init__(self, message: str, field: str, voice: str) -> None:
        """Name what the voice does not take, and the voice."""
        super().__init__(message, field=field, value=voice)
        self.voice = voice
