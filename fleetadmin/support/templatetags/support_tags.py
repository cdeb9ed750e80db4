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


@register.simple_tag
def support_grants_on(organization) -> list:
    """Support staff's open access to this organization, for the banner its members see."""
    from fleetadmin.support.selectors import active_grants_on

    return active_grants_on(organization)
