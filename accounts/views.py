"""Login, logout and the home page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.lockout import lockout_response
from accounts.policy import allowed
from accounts.services import language_valid, user_reset_password, user_set_eod_summary, user_set_language
from tracetrack import ratelimit
from tracetrack.api.throttling import client_ip
from tracetrack.forms import BoundedUsernameMixin
from tracetrack.ratelimit import Limit


class LoginForm(BoundedUsernameMixin, AuthenticationForm):
    """Django's login form, with the username's length checked."""


class LoginView(auth_views.LoginView):
    """The operators' login. django-axes locks a (username, IP) pair after
    LOGIN_FAILURE_LIMIT failures, as on the token endpoint; RATE_LIMIT_LOGIN caps the
    attempts per IP."""

    template_name = "registration/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if ratelimit.hit([Limit("login-page", client_ip(request), settings.RATE_LIMIT_LOGIN)]) is not None:
            context = {"form": self.get_form(), "locked_out": _("Too many attempts from here; wait a minute.")}
            response = render(request, self.template_name, context, status=429)
            response["Retry-After"] = "60"
            return response
        response = super().post(request, *args, **kwargs)
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request)
        return response


class ServiceSetPasswordForm(SetPasswordForm):
    """The new password of a reset, saved through `user_reset_password` (audited)."""

    def save(self, commit=True):
        return user_reset_password(user=self.user, password=self.cleaned_data["new_password1"])


class PasswordResetView(auth_views.PasswordResetView):
    """"Forgot password" on the login page: Django's reset by e-mail (the console backend
    unless EMAIL_HOST is set). The same answer whether or not the address is known; the
    requests per IP share the login pages' RATE_LIMIT_LOGIN, so it cannot mail-bomb."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"

    def post(self, request, *args, **kwargs):
        if ratelimit.hit([Limit("login-page", client_ip(request), settings.RATE_LIMIT_LOGIN)]) is not None:
            response = render(request, self.template_name, {"form": self.get_form(),
                                                            "limited": _("Too many requests from here; wait a minute.")},
                              status=429)
            response["Retry-After"] = "60"
            return response
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    form_class = ServiceSetPasswordForm


@require_POST
def eod_summary_choice(request):
    """A biller's or admin's own choice of the end-of-day summary e-mail (home page)."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if not allowed(request.user, "bill.read"):
        raise PermissionDenied
    wanted = request.POST.get("eod_summary") == "on"
    user_set_eod_summary(user=request.user, wanted=wanted)
    messages.success(request, _("You will get the end-of-day summary by e-mail.") if wanted
                     else _("You will not get the end-of-day summary by e-mail any more."))
    return redirect("home")


def home(request):
    """Dispatchers go straight to scanning; others get their menu."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.user.is_dispatcher:
        return redirect("scan")
    return render(request, "pages/home.html")


@require_POST
def language_choice(request):
    """The language switch in every page's header: anyone may use it (the login page too).
    A signed-in user's choice is kept on their account (UserLanguageMiddleware), everyone's
    in the django_language cookie; back to the page it came from."""
    language = request.POST.get("language", "")
    if not language_valid(language):
        language = ""
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = "/"
    response = redirect(back)
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                            secure=settings.LANGUAGE_COOKIE_SECURE, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                            httponly=False)
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
