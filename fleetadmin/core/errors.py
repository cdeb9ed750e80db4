"""Errors every app's services raise the same way."""

from typing import Any


class DuplicateSubmission(Exception):
    """A create form was submitted again (same form token); ``created`` is what the first submission made."""

    def __init__(self, created: Any, description: str):
        super().__init__(f"This form was already submitted; it created {description}.")
        self.created = created
