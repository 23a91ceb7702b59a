"""Cursor pagination: every page costs the same at any depth (no OFFSET)."""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    """`page_size` query parameter (default 50, clamped to 200). Views set `ordering`;
    the default is newest first."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError({self.page_size_query_param: [_("page_size must be a whole number, 1 or more.")]})
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        # DRF answers a bad cursor with 404; it is bad input, so 400 on the `cursor` field.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: [_("Invalid cursor.")]}) from None

    def get_ordering(self, request, queryset, view):
        return (getattr(view, "cursor_ordering", None) or self.ordering,)
