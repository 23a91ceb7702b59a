"""The operators' pages: scanning and lookup."""

from django.urls import path

from scans import views

urlpatterns = [
    path("scan/", views.scan, name="scan"),
    path("scan/<str:parent_qr>/", views.scan, name="scan-parent"),
    path("scan/<str:parent_qr>/state/", views.parent_state, name="scan-parent-state"),
    path("lookup/", views.lookup, name="lookup"),
]
