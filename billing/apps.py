from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from bags import holders
        from billing.holders import BillHolder

        # A parent on a bill: frozen once the bill is completed; freed when deleted.
        holders.register(BillHolder())
