from django.utils.functional import SimpleLazyObject

SWITCHER_LIMIT = 25


def navigation(request):
    """The signed-in user's organizations for the switcher, queried only if a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def load():
        from fleetadmin.fleet.selectors import visible_organizations

        return list(visible_organizations(user).only("pk", "name").order_by("name", "id")[: SWITCHER_LIMIT + 1])

    return {"nav_organizations": SimpleLazyObject(load), "nav_switcher_limit": SWITCHER_LIMIT}
