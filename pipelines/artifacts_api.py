"""List run artifacts through the REST API.

Prefect 3.8.8's `prefect artifact ls` and `client.read_artifacts()` send limit/sort/filters as
null and the server answers 422 (BASELINES.md); posting a complete filter body works.
"""

from __future__ import annotations

from uuid import UUID


def list_artifacts(flow_run_id: UUID | str | None = None, limit: int = 50) -> list[dict]:
    """Newest first: key, type, description, flow_run_id, created."""
    from prefect.client.orchestration import get_client

    body: dict = {"limit": limit, "offset": 0, "sort": "CREATED_DESC"}
    if flow_run_id is not None:
        body["artifacts"] = {"flow_run_id": {"any_": [str(flow_run_id)]}}
    with get_client(sync_client=True) as client:
        response = client._client.post("/artifacts/filter", json=body)
        response.raise_for_status()
    return [{k: item.get(k) for k in ("key", "type", "description", "flow_run_id", "created")}
            for item in response.json()]
