"""An in-process API client for benchmarks: the real URL, middleware, auth and serializers."""

from rest_framework.test import APIClient

from omni.api.keys import create_client
from omni.models import ALL_SCOPES, ApiClient


def api_client() -> APIClient:
    ApiClient.objects.filter(name="bench").delete()
    _, key = create_client(name="bench", scopes=ALL_SCOPES)
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
