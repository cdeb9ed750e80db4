from django.urls import path

from fleetadmin.idp import views

app_name = "idp"

urlpatterns = [
    path(".well-known/openid-configuration", views.discovery, name="discovery"),
    path("jwks", views.jwks, name="jwks"),
    path("authorize", views.authorize, name="authorize"),
    path("token", views.IssuerTokenView.as_view(), name="token"),
    path("userinfo", views.IssuerUserInfoView.as_view(), name="userinfo"),
    path("revoke", views.IssuerRevokeView.as_view(), name="revoke"),
    path("introspect", views.introspect, name="introspect"),
    path("end_session", views.end_session, name="end_session"),
    path("device_authorization", views.device_authorization, name="device_authorization"),
    path("device", views.device, name="device"),
    path("sign-in", views.sign_in, name="sign_in"),
    path("sign-out", views.sign_out, name="sign_out"),
    path("account", views.account, name="account"),
    path("forgot", views.forgot, name="forgot"),
    path("reset/<str:token>", views.reset, name="reset"),
    path("invitation/<str:token>", views.invitation, name="invitation"),
    path("logo.png", views.logo, name="logo"),
]
