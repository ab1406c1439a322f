"""Errors that speak to people: each carries a translatable message."""

from __future__ import annotations


class JatigiError(Exception):
    """Base for errors a user should read. `message` is already translated."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(JatigiError):
    status_code = 404


class Forbidden(JatigiError):
    status_code = 403


class Unauthorized(JatigiError):
    status_code = 401


class ValidationFailed(JatigiError):
    status_code = 422


class Conflict(JatigiError):
    """The record is not in a state that allows this (a cycle already approved, a file applied twice)."""

    status_code = 409
