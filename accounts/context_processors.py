"""What the signed-in user may use, for navigation in the templates."""

from accounts.policy import allowed


def permissions(request):
    user = getattr(request, "user", None)
    return {"can": {"scan": allowed(user, "scan"), "bills": allowed(user, "bill.read"),
                    "dashboard": allowed(user, "dashboard.read")}}
