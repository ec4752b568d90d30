"""The API's one error shape, {"error": {"code", "message", "field"}}, as a response.

Routes, exception handlers and middleware all answer through error_response(), so a client
parses every failure the same way whichever layer refused the request.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from rsa_qa.schemas import ErrorResponse

# For the OpenAPI `responses` of an operation.
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


class _AsciiJSONResponse(JSONResponse):
    # Escaped to ASCII: a message that echoes hostile input (a lone surrogate) still encodes.
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse.model_validate({"error": {"code": code, "message": message, "field": field}})
    return _AsciiJSONResponse(body.model_dump(), status_code=status, headers=headers)
