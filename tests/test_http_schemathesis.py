"""schemathesis against the OpenAPI schema: generated requests never get a 500.

The model is the scripted fake (this checks the server, not the model); every operation is
exercised, with the vault empty (409s are expected there, 500s never)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from overlayagi.engine.types import Message
from overlayagi.interfaces.http.app import create_app
from overlayagi.workspace import Workspace
from tests.fakes import FakeLLM


def test_no_server_errors(workspace: Workspace) -> None:
    def reply(messages: list[Message], kwargs: dict[str, Any]) -> Any:
        return {"verdict": "approve", "feedback": "ok"} if kwargs.get("schema") else "ok"

    llm = FakeLLM(reply, model_id=workspace.config.engine.model)
    workspace._llms[(workspace.config.engine.model, None)] = llm
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(workspace))
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text[:400])

        check()
        checked.append(operation.label)
    assert len(checked) >= 20, checked
