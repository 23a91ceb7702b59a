"""The back office's admin site: two-factor login (TOTP, django-otp) for the accounts that
turned it on by adding a device; everyone else signs in with a password as usual."""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp import devices_for_user, user_has_device
from django_otp.forms import OTPAuthenticationFormMixin

from tracetrack.forms import BoundedUsernameMixin


class OptionalOTPAuthenticationForm(BoundedUsernameMixin, OTPAuthenticationFormMixin, AdminAuthenticationForm):
    """Password, plus a one-time code when the user has a confirmed TOTP device."""

    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_token = forms.CharField(
        required=False, label="One-time code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    def _chosen_device(self, user):
        # The form has no device picker: the user's first confirmed device answers.
        return super()._chosen_device(user) or next(devices_for_user(user, confirmed=True, for_verify=True), None)

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and user_has_device(user):
            self.clean_otp(user)
        return cleaned


class TraceTrackAdminSite(admin.AdminSite):
    site_header = "TraceTrack back office"
    site_title = "TraceTrack"
    index_title = "Back office"
    login_form = OptionalOTPAuthenticationForm
    login_template = "admin/tracetrack_login.html"

    def has_permission(self, request):
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        # Two factors for those who turned them on: a session that only passed the password
        # does not open the admin.
        return not user_has_device(user) or user.is_verified()
