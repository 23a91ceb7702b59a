"""API views whose reads may be a second stale: their GETs read from a replica when one
is configured and fit (tracetrack.db.replicas)."""

from tracetrack.db.replicas import stale_reads


class StaleReadsMixin:
    """`stale_read_actions` names the viewset actions (or, on a plain APIView, the lower-case
    methods) that may be served by a replica."""

    stale_read_actions: tuple[str, ...] = ("list", "retrieve")

    def dispatch(self, request, *args, **kwargs):
        method = request.method.lower()
        action = (getattr(self, "action_map", None) or {}).get(method, method)
        if request.method in ("GET", "HEAD") and action in self.stale_read_actions:
            with stale_reads():
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)
