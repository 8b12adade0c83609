"""Domain exceptions, mapped to HTTP statuses in portal.errors."""


class DomainError(Exception):
    """Base class; ``message`` is already translated for the user."""

    status = 400

    def __init__(self, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class NotFoundError(DomainError):
    status = 404


class AccessDeniedError(DomainError):
    status = 403


class ConflictError(DomainError):
    status = 409


class GoneError(DomainError):
    status = 410


class InvalidDataError(DomainError):
    status = 422


class AuthenticationError(DomainError):
    status = 401
