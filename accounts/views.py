"""Login, logout and the home page."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django_ratelimit.core import is_ratelimited

from accounts.lockout import lockout_response
from tracetrack.api.throttling import client_ip
from tracetrack.forms import BoundedUsernameMixin


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
        if is_ratelimited(request, group="login-page", key=client_ip, rate=settings.RATE_LIMIT_LOGIN,
                          method="POST", increment=True):
            context = {"form": self.get_form(), "locked_out": "Too many attempts from here; wait a minute."}
            response = render(request, self.template_name, context, status=429)
            response["Retry-After"] = "60"
            return response
        response = super().post(request, *args, **kwargs)
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request)
        return response


def home(request):
    """Dispatchers go straight to scanning; others get their menu."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.user.is_dispatcher:
        return redirect("scan")
    return render(request, "pages/home.html")
