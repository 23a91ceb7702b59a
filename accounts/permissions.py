"""Role checks for API views, from the one policy table in accounts.policy. Area scoping
is done by the selectors (another area's bags are simply not in the queryset: 404)."""

from rest_framework.permissions import BasePermission

from accounts.policy import allowed


class RolePermission(BasePermission):
    """The view declares `policy = {action_name: policy_action}`; `"*"` is the fallback.
    Action names are the viewset actions (`list`, `create`, …) or, for plain API views,
    the lower-case HTTP method."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        action = getattr(view, "action", None) or request.method.lower()
        policy = getattr(view, "policy", {})
        needed = policy.get(action, policy.get("*"))
        if needed is None:
            return True  # any signed-in user
        return allowed(request.user, needed)
