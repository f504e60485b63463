"""Domain errors. Front ends map them: the API to 4xx envelopes, the CLI to exit status 2."""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BusyError",
    "ConflictError",
    "DataNotFoundError",
    "InvalidFieldsError",
    "InvalidParameterError",
    "InvalidRequestError",
    "InvalidSymbolError",
    "ModelError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitedError",
    "TradeforgeError",
    "UnknownSymbolError",
]


class TradeforgeError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "INTERNAL_ERROR"


class InvalidRequestError(TradeforgeError, ValueError):
    """The caller's input is malformed or inconsistent (bad timeframe, start after end, ...)."""

    code = "INVALID_REQUEST"


class PayloadTooLargeError(InvalidRequestError):
    """An upload is larger than the limit it is held to."""

    code = "PAYLOAD_TOO_LARGE"


class InvalidParameterError(InvalidRequestError):
    """A query parameter fails validation (not one of the allowed values, a date that is not one);
    answered as VALIDATION_ERROR like the fields the API framework itself refuses."""

    code = "VALIDATION_ERROR"


class InvalidFieldsError(InvalidRequestError):
    """Named fields of the input are rejected, each with its reason (the API's 400 lists them in
    ``details`` as ``{"field", "message"}``)."""

    code = "VALIDATION_ERROR"

    def __init__(self, fields: list[dict[str, str]], message: str = "Invalid input data") -> None:
        reasons = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        super().__init__(f"{message}: {reasons}" if reasons else message)
        self.fields = fields
        self.details = {"errors": fields}


class InvalidSymbolError(InvalidRequestError):
    """The symbol is not well-formed (empty, illegal characters, ...)."""

    code = "INVALID_SYMBOL"


class UnknownSymbolError(TradeforgeError):
    """The provider answered that it does not know the symbol."""

    code = "INVALID_SYMBOL"


class DataNotFoundError(TradeforgeError):
    """Nothing is stored for the requested series."""

    code = "NOT_FOUND"


class ProviderError(TradeforgeError):
    """A data provider failed after its retries (network down, exchange unavailable, ...)."""

    code = "PROVIDER_ERROR"


class AuthenticationError(TradeforgeError):
    """Missing, malformed, expired or revoked credentials (bad password, token or API key)."""

    code = "UNAUTHORIZED"


class PermissionDeniedError(TradeforgeError):
    """Authenticated, but the role does not allow this (a user asking for another user's data)."""

    code = "FORBIDDEN"


class ConflictError(TradeforgeError):
    """The request would duplicate something unique (a username, an API key name)."""

    code = "CONFLICT"


class RateLimitedError(TradeforgeError):
    """The caller's tier allows no more requests in the current window."""

    code = "RATE_LIMITED"


class ModelError(TradeforgeError):
    """A model failed to compute a prediction on valid input (a server-side fault)."""

    code = "MODEL_ERROR"


class BusyError(TradeforgeError):
    """The machine lacks the resources for the work asked for now; the message says what is short."""

    code = "SERVICE_UNAVAILABLE"
