"""Errors raised by model backends. Each says what failed and how to fix it."""

from __future__ import annotations

from overlayagi.errors import OverlayError


class EngineError(OverlayError):
    """Base class for engine failures."""

    exit_code = 3


class ModelNotFoundError(EngineError):
    """A model name is unknown, or its file is not on disk."""


class ModelCorruptError(EngineError):
    """A model file exists but is not what it should be (hash, size or format)."""


class BackendUnavailableError(EngineError):
    """The backend could not serve now (connection refused, timeout, 5xx). Retryable."""


class BackendError(EngineError):
    """The backend answered with an error that retrying will not fix (4xx, bad response)."""


class ContextOverflowError(EngineError):
    """The prompt (plus the requested completion) does not fit the model's context window."""


class CapabilityError(EngineError):
    """The backend cannot do what was asked (e.g. a server without logprobs)."""


class OutputSchemaError(EngineError):
    """A schema-constrained completion did not parse or validate."""


class EmbedderError(EngineError):
    """The embedding model is missing or failed."""
