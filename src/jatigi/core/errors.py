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


class FieldsInvalid(ValidationFailed):
    """Input with problems, each with its field: nothing was written.

    A domain subclasses it with `labels` (field name → translatable label) to name its fields in
    the message; `problems` keeps the (field, message) pairs for forms to show beside each field.
    """

    labels: dict[str, str] = {}

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        from jatigi.core.i18n import _

        super().__init__(_("Nothing was saved: {problems}", problems=" ".join(
            _("{field}: {message}", field=self.label(name), message=message) for name, message in problems)))
        self.problems = problems

    @classmethod
    def label(cls, name: str) -> str:
        from jatigi.core.i18n import _

        return _(cls.labels[name]) if name in cls.labels else name


class Conflict(JatigiError):
    """The record is not in a state that allows this (a cycle already approved, a file applied twice)."""

    status_code = 409
