"""The billers' pages."""

from django.urls import path

from billing import views

urlpatterns = [
    path("bills/", views.bill_list, name="bill-list"),
    # No slash: "EXPORT.CSV" is no bill id, and bills/<bill_id>/ needs one.
    path("bills/export.csv", views.bill_list_csv, name="bill-list-csv"),
    path("bills/new/", views.bill_create, name="bill-create"),
    path("bills/summary/", views.bill_summary, name="bill-summary"),
    path("bills/<str:bill_id>/", views.bill_detail, name="bill-detail"),
    # Before bills/<bill_id>/<action>/, which would take "manifest" for an action.
    path("bills/<str:bill_id>/manifest/", views.bill_manifest, name="bill-manifest"),
    path("bills/<str:bill_id>/export.csv", views.bill_parents_csv, name="bill-csv"),
    path("bills/<str:bill_id>/<str:action>/", views.bill_action, name="bill-action"),
]
