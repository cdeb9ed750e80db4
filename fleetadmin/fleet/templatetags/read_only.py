"""``{% read_only_note "see this organization's billing" %}``: the read-only note, worded for the viewer's role."""

from django import template
from django.template.loader import render_to_string

from fleetadmin.fleet.read_only import read_only_text

register = template.Library()


@register.simple_tag(takes_context=True)
def read_only_note(context, what: str) -> str:
    request = context.get("request")
    organization = context.get("organization")
    if request is None or organization is None:
        return ""
    text = read_only_text(request.user, organization, what)
    return render_to_string("includes/read_only.html", {"text": text}) if text else ""
