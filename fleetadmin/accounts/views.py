"""Sign-in (password, then a second factor when the account has one), password reset, two-factor set-up, sessions."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from fleetadmin.accounts import selectors, services, sessions, two_factor
from fleetadmin.accounts.forms import PasswordResetRequestForm, SignInForm, TwoFactorCodeForm
from fleetadmin.core.links import absolute_url, portal_base_url
from fleetadmin.core.mail import Mail, send_after_commit
from fleetadmin.core.web import client_ip

PENDING = "_fa_2fa_pending"  # in the session between the password step and the code step
MAX_CODE_TRIES = 5


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


# ---- sign in / out ----------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """The portal's sign-in page. django-axes counts its failures; an account with two-factor goes on to a code."""

    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[PENDING] = {
            "user_id": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
            "tries": 0,
        }
        return redirect("accounts:two_factor_verify")


@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > settings.TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in again: the step between your password and your code timed out.")
        return redirect("accounts:login")
    user = selectors.active_user(pending["user_id"])
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("accounts:login")
    form = TwoFactorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        device = two_factor.match_code(user, form.cleaned_data["code"])
        if device is not None:
            next_url = pending["next"]
            del request.session[PENDING]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            if device.name == two_factor.RECOVERY_NAME:
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request, f"You used a recovery code; {left} left. Make new ones on the Two-factor page."
                )
            return redirect(_safe_next(request, next_url))
        pending["tries"] += 1
        request.session[PENDING] = pending
        if pending["tries"] >= MAX_CODE_TRIES:
            del request.session[PENDING]
            messages.error(request, "Too many wrong codes. Sign in again.")
            return redirect("accounts:login")
        form.add_error("code", "That code is not right, or it has expired. Enter the current code from your app.")
        status = 422
    elif request.method == "POST":
        status = 422
    return render(request, "accounts/two_factor_verify.html", {"form": form}, status=status)


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        sessions.forget(request.session.session_key)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing the password keeps this session and signs out every other one."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        services.password_change(actor=form.user, password=form.cleaned_data["new_password1"], request=self.request)
        return redirect(self.get_success_url())


# ---- password reset ---------------------------------------------------------------------------------

logger = logging.getLogger(__name__)

RESET_SENT = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "The link works once, for {hours} hours. Check your spam folder if nothing arrives in a few minutes."
)


class ResetThrottleUnavailable(Exception):
    """The reset counters live in the cache, and the cache is unreachable."""


def _count(key: str, limit: int) -> bool:
    """Increment a windowed counter; True while it is within ``limit``.

    Raises ResetThrottleUnavailable when the cache is down: the check fails closed (no reset mail is
    sent) rather than letting an unthrottled stream of mails out.
    """
    window = settings.PASSWORD_RESET_WINDOW_MINUTES * 60
    try:
        cache.add(key, 0, timeout=window)
        try:
            return cache.incr(key) <= limit
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            return True
    except Exception as error:
        logger.warning(
            "password-reset throttle unavailable (%s: the cache is unreachable); failing closed: no reset mail",
            type(error).__name__,
        )
        raise ResetThrottleUnavailable from None


def password_reset_link(user, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute_url(base_url, reverse("accounts:password_reset_confirm", args=[uid, token]))


def password_reset_request(*, email: str, base_url: str) -> None:
    """Mail a reset link to the active account with this email, if there is one; silent either way."""
    user = selectors.active_user_with_email(email)
    if user is None:
        return
    try:
        if not _count(f"pwreset:account:{user.pk}", settings.PASSWORD_RESET_ACCOUNT_LIMIT):
            return  # enough mails for now; the answer on the page stays the same
    except ResetThrottleUnavailable:
        return
    mail = Mail(
        to=[user.email],
        template="mail/accounts/password_reset",
        context={
            "name": user.get_short_name(),
            "url": password_reset_link(user, base_url),
            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
    )
    with transaction.atomic():
        send_after_commit(mail)


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        address = client_ip(request) or "unknown"
        try:
            within_limit = _count(f"pwreset:ip:{address}", settings.PASSWORD_RESET_ADDRESS_LIMIT)
        except ResetThrottleUnavailable:
            form.add_error(None, "Password reset is unavailable for a moment. Try again in a few minutes.")
            return render(request, "accounts/password_reset.html", {"form": form}, status=503)
        if not within_limit:
            form.add_error(
                None,
                "Too many reset requests from your network. "
                f"Try again in {settings.PASSWORD_RESET_WINDOW_MINUTES} minutes.",
            )
            status = 429
        elif form.is_valid():
            password_reset_request(email=form.cleaned_data["email"], base_url=portal_base_url(request))
            return redirect("accounts:password_reset_done")
        else:
            status = 422
    return render(request, "accounts/password_reset.html", {"form": form}, status=status)


def password_reset_done(request: HttpRequest) -> HttpResponse:
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    return render(request, "accounts/password_reset_done.html", {"message": RESET_SENT.format(hours=hours)})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's token check (the token leaves the URL at once); a completed reset ends every session of the account."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        services.password_reset(actor=form.user, password=form.cleaned_data["new_password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.success_url)


def password_reset_complete(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_complete.html")


# ---- two-factor set-up ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    enabled = two_factor.has_two_factor(user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    context = {"enabled": enabled, "next": next_url, "nav_account": "two_factor"}
    status = 200
    if enabled:
        context["recovery_left"] = two_factor.recovery_codes_left(user)
        context["disable_form"] = TwoFactorCodeForm(prefix="disable")
        return render(request, "accounts/two_factor.html", context)
    device = two_factor.pending_authenticator(user)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.two_factor_enable(actor=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)  # this session counts as signed in with the second factor
            context.update({"enabled": True, "codes": codes, "continue_url": _safe_next(request, next_url)})
            return render(request, "accounts/two_factor_codes.html", context)
        form.add_error("code", "That code is not right. Enter the 6-digit code your app shows now.")
    if request.method == "POST":
        status = 422
    context.update(
        {
            "form": form,
            "qr": two_factor.qr_svg_data_uri(device),
            "secret": two_factor.secret_for_display(device),
        }
    )
    return render(request, "accounts/two_factor.html", context, status=status)


@login_required
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    if not two_factor.has_two_factor(request.user):
        return redirect("accounts:two_factor")
    codes = two_factor.recovery_codes_regenerate(actor=request.user)
    return render(
        request,
        "accounts/two_factor_codes.html",
        {"codes": codes, "continue_url": reverse("accounts:two_factor"), "regenerated": True},
    )


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = TwoFactorCodeForm(request.POST, prefix="disable")
    if form.is_valid() and two_factor.two_factor_disable(actor=request.user, code=form.cleaned_data["code"]):
        messages.success(request, "Two-factor sign-in is off. Organizations that require it will ask you to set it up.")
        return redirect("accounts:two_factor")
    if form.is_valid():
        form.add_error("code", "That code is not right; two-factor sign-in stays on.")
    context = {
        "enabled": True,
        "recovery_left": two_factor.recovery_codes_left(request.user),
        "disable_form": form,
        "nav_account": "two_factor",
    }
    return render(request, "accounts/two_factor.html", context, status=422)


# ---- sessions ---------------------------------------------------------------------------------------


def _device_label(user_agent: str) -> str:
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
            if token in ua
        ),
        "Unknown browser",
    )
    system = next(
        (
            name
            for token, name in (
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if "python-requests" in ua or "curl/" in ua:
        browser = ua.split(" ")[0]
    return f"{browser} on {system}" if system else browser


@login_required
@require_http_methods(["GET"])
def sessions_page(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    rows = [
        {"session": row, "device": _device_label(row.user_agent), "current": row.session_key == current}
        for row in sessions.active_sessions(request.user)
    ]
    rows.sort(key=lambda r: not r["current"])
    return render(
        request,
        "accounts/sessions.html",
        {"rows": rows, "others": sum(not r["current"] for r in rows), "nav_account": "sessions"},
    )


@login_required
@require_POST
def sessions_sign_out_others(request: HttpRequest) -> HttpResponse:
    ended = sessions.sessions_sign_out_others(actor=request.user, keep=request.session.session_key)
    messages.success(request, f"Signed out {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("accounts:sessions")


@login_required
@require_POST
def session_sign_out(request: HttpRequest, session_id: int) -> HttpResponse:
    if sessions.session_sign_out(actor=request.user, session_id=session_id):
        messages.success(request, "That session is signed out.")
    return redirect("accounts:sessions")
