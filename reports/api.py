"""GET /api/v1/stats/ (API.md, Stats): the counters' figures, scoped to the caller."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import RolePermission
from reports.selectors import stats_for
from tracetrack.api.formats import api_datetime
from tracetrack.api.replicas import StaleReadsMixin
from tracetrack.api.schema import error_responses

StatsAnswer = inline_serializer(
    "Stats",
    {
        "bags": inline_serializer("BagStats", {k: serializers.IntegerField() for k in
                                               ("parents", "children", "completed_parents", "unlinked_children")}),
        "bills": inline_serializer("BillStats", {k: serializers.IntegerField() for k in ("new", "in_progress", "completed")},
                                   allow_null=True),
        "scans": inline_serializer("ScanStats", {k: serializers.IntegerField() for k in ("today", "last_hour")}),
        "generated_at": serializers.DateTimeField(),
    },
)


class StatsView(StaleReadsMixin, APIView):
    """Totals, exact at the moment of the request. Dispatchers: their own area, no bills."""

    permission_classes = [RolePermission]
    policy = {"*": "stats.read"}
    stale_read_actions = ("get",)

    @extend_schema(responses={200: StatsAnswer, **error_responses(401, 403)})
    def get(self, request):
        stats = stats_for(request.user)
        stats["generated_at"] = api_datetime(stats["generated_at"])
        return Response(stats)
