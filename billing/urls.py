"""The billers' pages."""

from django.urls import path

from billing import views

urlpatterns = [
    path("bills/", views.bill_list, name="bill-list"),
    path("bills/new/", views.bill_create, name="bill-create"),
    path("bills/summary/", views.bill_summary, name="bill-summary"),
    path("bills/<str:bill_id>/", views.bill_detail, name="bill-detail"),
    path("bills/<str:bill_id>/<str:action>/", views.bill_action, name="bill-action"),
]
