"""The Auth service page's end-user panel: issuer URL, how to connect an app, sign-ins per day (SVG)."""

from django import template

from fleetadmin.idp import selectors
from fleetadmin.idp.context import issuer_url

register = template.Library()

CHART_WIDTH = 300
CHART_HEIGHT = 60


@register.inclusion_tag("idp/_service_panel.html", takes_context=True)
def end_user_panel(context, organization):
    request = context["request"]
    days = selectors.sign_ins_per_day(organization)
    peak = max((count for _, count in days), default=0) or 1
    width = CHART_WIDTH / len(days)
    bars = [
        {
            "x": round(i * width, 2),
            "width": round(width - 2, 2),
            "height": round(CHART_HEIGHT * count / peak, 2),
            "y": round(CHART_HEIGHT - CHART_HEIGHT * count / peak, 2),
            "day": day,
            "count": count,
        }
        for i, (day, count) in enumerate(days)
    ]
    issuer = issuer_url(request, organization.pk)
    return {
        "organization": organization,
        "issuer": issuer,
        "bars": bars,
        "total": sum(count for _, count in days),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "end_user_count": selectors.visible_end_users(context["user"], organization).count(),
    }
