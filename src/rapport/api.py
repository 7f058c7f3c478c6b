"""The REST API at /api/v1/: routers of every domain mounted on core's NinjaAPI."""

from ninja import NinjaAPI

api = NinjaAPI(title="Rapport API", version="1", urls_namespace="api")
