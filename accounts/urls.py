"""Pages of accounts: home, login, logout, the user's own choices."""

from django.contrib.auth.views import LogoutView
from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("account/eod-summary/", views.eod_summary_choice, name="eod-summary-choice"),
]
