from django.contrib import admin
from django.urls import include, path

from fleetadmin.api.views import api
from portal import ops

handler500 = "portal.ops.server_error"  # a lost database is a 503 there too

urlpatterns = [
    path("", include("fleetadmin.fleet.urls")),
    path("accounts/", include("fleetadmin.accounts.urls")),
    path("orgs/<uuid:org_id>/keys/", include("fleetadmin.keys.urls")),
    path("orgs/<uuid:org_id>/auth/", include("fleetadmin.oauth.urls")),
    path("orgs/<uuid:org_id>/audit/", include("fleetadmin.audit.urls")),
    path("orgs/<uuid:org_id>/support-access/", include("fleetadmin.support.customer_urls")),
    path("support/", include("fleetadmin.support.urls")),
    path("orgs/<uuid:org_id>/billing/", include("fleetadmin.billing.urls")),
    path("billing/<uuid:billing_org_id>/", include("fleetadmin.billing.dashboard_urls")),
    path("oidc/<uuid:org_id>/", include("fleetadmin.idp.urls")),
    path("orgs/<uuid:org_id>/auth/end-users/", include("fleetadmin.idp.admin_urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics_view, name="metrics"),
]
