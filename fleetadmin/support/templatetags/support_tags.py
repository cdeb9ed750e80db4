from django import template

from fleetadmin.fleet import authz

register = template.Library()


@register.filter
def shows_support_access(organization, user) -> bool:
    """Whether the sidebar offers this user the organization's "Support access" page."""
    return organization is not None and authz.can(user, "support.view_access", organization)


@register.filter
def support_session_status(session, now) -> str:
    """The session's state as of ``now``: active, ended or expired."""
    return session.status(now)
