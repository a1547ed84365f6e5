from rest_framework import pagination

from omni.api.filters import reject_unknown_query_params


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 500), as the contract says.

    Every list passes through here, so this is where a list refuses the query
    parameters it does not know (``omni.api.filters.reject_unknown_query_params``).
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        if view is not None:
            reject_unknown_query_params(request, view)
        return super().paginate_queryset(queryset, request, view)
