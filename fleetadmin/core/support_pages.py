"""Which of an organization's pages support staff reach under a grant, declared on each view.

A view of an organization's page (a URL with ``org_id``) says what support staff get there::

    @support_visible("API key", actions=("support.delete_key",))
    def key_detail(request, org_id, key_id): ...

    @support_hidden
    def organization_list(request): ...

* ``support_visible(label)``: under an active grant, the view runs for the engineer as the
  read-only support actor, so reads render and writes are refused (403) by the view's own
  permission check; a successful GET is recorded in the customer's support-access history under
  ``label``. ``actions`` names the support actions (their ``support.*`` permission) that the
  support banner offers on that page.
* ``support_hidden``: support staff are outsiders there, like anyone who is not a member.

A view with no declaration is hidden too, and ``tests/support/test_visibility.py`` fails on it,
so a new page cannot change what support sees without saying so. Class-based views are
declared on the class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

View = TypeVar("View", bound=Callable)

ATTRIBUTE = "support_visibility"


@dataclass(frozen=True)
class SupportVisibility:
    visible: bool
    label: str = ""  # how the customer's support-access history names the page
    actions: tuple[str, ...] = ()  # support.* permissions the banner offers on the page


HIDDEN = SupportVisibility(visible=False)


def support_visible(label: str, *, actions: Iterable[str] = ()) -> Callable[[View], View]:
    if not label.strip():
        raise ValueError("A page support staff may see needs a label: the customer's history names it.")
    declared = SupportVisibility(visible=True, label=label, actions=tuple(actions))

    def declare(view: View) -> View:
        setattr(view, ATTRIBUTE, declared)
        return view

    return declare


def support_hidden(view: View) -> View:
    setattr(view, ATTRIBUTE, HIDDEN)
    return view


def declared_visibility(view: Callable) -> SupportVisibility | None:
    """The view's declaration (on the function, or for ``as_view()`` on its class); None when it has none."""
    declared = getattr(view, ATTRIBUTE, None)
    if declared is None:
        declared = getattr(getattr(view, "view_class", None), ATTRIBUTE, None)
    return declared


def support_visibility(view: Callable) -> SupportVisibility:
    """What support staff get on the view: an undeclared view is hidden."""
    return declared_visibility(view) or HIDDEN
