"""JSON answers built once: a route returns the response itself.

A route that returns a model makes FastAPI validate it again against ``response_model`` and
then serialise it — for a synchronous route the validation runs in a second trip to the thread
pool. The hot routes (inbox, claim, complete) build their model once and return its JSON
(pydantic's serializer, the same bytes); ``response_model`` stays on the route for the OpenAPI
document.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")  # fmt: skip
