"""Errors every app's services raise the same way."""

from typing import Any

from django.core.exceptions import ValidationError


class DuplicateSubmission(Exception):
    """A create form was submitted again (same form token); ``created`` is what the first submission made."""

    def __init__(self, created: Any, description: str):
        super().__init__(f"This form was already submitted; it created {description}.")
        self.created = created


def field_messages(error: ValidationError) -> dict[str, list[str]] | None:
    """``{field: [message, ...]}`` of a ValidationError raised with field errors, or None for a form-wide error."""
    if not hasattr(error, "error_dict"):
        return None
    return {name: [str(m) for e in errors for m in e.messages] for name, errors in error.error_dict.items()}


def validation_message(error: ValidationError) -> str:
    """The one-line message the machine channels (JSON API, gRPC) give for a ValidationError.

    This is the one place a message is prefixed with its field's name: the rules' messages never
    name their field (the web form shows them beside the field, under its label, instead).
    """
    fields = field_messages(error)
    if fields is None:
        return " ".join(str(m) for m in error.messages)
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
