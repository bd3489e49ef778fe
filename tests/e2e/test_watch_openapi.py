"""The change feed's OpenAPI entry: both forms, its query, 410 and 429 with their bodies."""

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.openapi import build_openapi

DOC = build_openapi(Settings())


def test_watch_documents_the_json_and_the_event_stream_forms() -> None:
    op = DOC["paths"]["/api/watch"]["get"]
    content = op["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/event-stream"}
    assert "Last-Event-ID" in op["description"]
    names = {p["name"] for p in op["parameters"]}
    assert names == {"prefix", "since", "offset", "timeout", "limit", "values"}


def test_watch_documents_410_and_429_with_their_error_bodies() -> None:
    responses = DOC["paths"]["/api/watch"]["get"]["responses"]
    assert responses["410"] == {"$ref": "#/components/responses/HistoryCompacted"}
    assert responses["429"] == {"$ref": "#/components/responses/TooManyWatches"}
    components = DOC["components"]["responses"]
    gone = components["HistoryCompacted"]["content"]["application/json"]["example"]["error"]
    assert gone["code"] == "history_compacted" and {"oldest", "revision"} <= set(gone)
    assert "Retry-After" in components["TooManyWatches"]["headers"]
