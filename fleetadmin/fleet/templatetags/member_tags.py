from django import template

from fleetadmin.fleet import authz

register = template.Library()


@register.filter
def manages_organization(organization, user) -> bool:
    """For the navigation: may this user open the organization's Settings page?"""
    return authz.can(user, "fleet.manage_organization", organization)


@register.filter
def may_create_organization(user) -> bool:
    return authz.can(user, "fleet.create_organization", None)
