"""Reads of portal accounts that the sign-in and password-reset screens need."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def active_user(user_id) -> object | None:
    """The active account with this id (a sign-in in progress keeps only the id), or None."""
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def active_user_with_email(email: str) -> object | None:
    """The active account that signs in with this address, whatever its case, or None."""
    return get_user_model().objects.filter(email__iexact=email.strip(), is_active=True).first()
