"""Actions the API vouches for: signed by the API, verified by the workers.

Anyone who can reach the Temporal namespace can send an update or start a workflow; the workflow
must not believe the actor written inside. So the API signs what it vouches for with a key the
workers verify (and the codec never sees):

- an update: the workflow id, the update name, the update id and the whole argument (actor
  included) -> an approval cannot be forged, altered, or copied from one case to another;
- a start: the workflow id and the whole input (request, opener, policy copy, opening time).

The signature is `<key id>:<hex HMAC-SHA256>`; several keys verify (rotation), one signs.
Signing happens in a client interceptor (every update and start the API's client sends), checking
in a worker interceptor before the workflow's own validators: a refused update never enters
history, a refused start fails the workflow at once. A continued-as-new run is accepted unsigned
only when Temporal says it continues an earlier run of the same workflow (a client cannot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any, TypeGuard

from pydantic import BaseModel
from temporalio import client as tc
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from core.settings import Settings

# The public demo key: only with ESCALATIONS_DEMO=true and no keys configured.
DEMO_ACTION_KEY_ID = "demo-public-action-key"
DEMO_ACTION_KEY = b"demo-action-key-not-a-secret!!!!"


class ActionKeyError(ValueError):
    """The action keys are missing or malformed; the message is one line and says what to do."""


def canonical(value: BaseModel, exclude: set[str]) -> bytes:
    doc = value.model_dump(mode="json", exclude=exclude)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ActionSigner:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ActionKeyError(f"the active action key id {active_key_id!r} is not configured")
        self._keys = dict(keys)
        self.key_id = active_key_id

    def _mac(self, key_id: str, *parts: bytes) -> str:
        return hmac.new(self._keys[key_id], b"\x1f".join(parts), hashlib.sha256).hexdigest()

    def sign(self, *parts: bytes) -> str:
        return f"{self.key_id}:{self._mac(self.key_id, *parts)}"

    def verify(self, signature: str | None, *parts: bytes) -> bool:
        if not signature or ":" not in signature:
            return False
        key_id, mac = signature.rsplit(":", 1)
        if key_id not in self._keys:
            return False
        return hmac.compare_digest(mac, self._mac(key_id, *parts))

    # what is signed --------------------------------------------------------------------------

    def update_parts(self, workflow_id: str, name: str, update_id: str, arg: BaseModel) -> tuple:
        return (
            b"update",
            workflow_id.encode(),
            name.encode(),
            update_id.encode(),
            canonical(arg, {"signature"}),
        )

    def start_parts(self, workflow_id: str, start: BaseModel) -> tuple:
        return (b"start", workflow_id.encode(), canonical(start, {"signature"}))


def signer_from_settings(settings: Settings) -> ActionSigner:
    """The signer the settings describe; ActionKeyError (one line) when they do not add up."""
    keys: dict[str, bytes] = {}
    for key_id, secret in settings.action_keys.items():
        try:
            raw = base64.b64decode(secret.get_secret_value().strip(), validate=True)
        except ValueError:
            raise ActionKeyError(f"action key {key_id!r} is not base64") from None
        if len(raw) < 32:
            raise ActionKeyError(f"action key {key_id!r} is {len(raw)} bytes; use 32 random bytes")
        keys[key_id] = raw
    if not settings.demo:
        if not keys:
            raise ActionKeyError(
                "refusing to start: no action signing keys. Set ESCALATIONS_ACTION_KEYS="
                '\'{"<key id>": "<base64 of 32 random bytes>"}\' on the API and every worker '
                "(and ESCALATIONS_ACTION_KEY_ID if there are several), or ESCALATIONS_DEMO=true"
            )
        if DEMO_ACTION_KEY in keys.values() or DEMO_ACTION_KEY_ID in keys:
            raise ActionKeyError("refusing to start: the public demo action key outside the demo")
    if settings.demo:
        keys.setdefault(DEMO_ACTION_KEY_ID, DEMO_ACTION_KEY)
    configured = list(settings.action_keys)
    active = settings.action_key_id or (configured[0] if len(configured) == 1 else None)
    if active is None and not configured:
        active = DEMO_ACTION_KEY_ID
    if active is None:
        raise ActionKeyError("several action keys: set ESCALATIONS_ACTION_KEY_ID (the signing one)")
    return ActionSigner(keys, active)


# --- the API's side: a client interceptor signs every update and start ----------------------


class SigningInterceptor(tc.Interceptor):
    def __init__(self, signer: ActionSigner) -> None:
        self.signer = signer

    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _SigningOutbound(next, self.signer)


class _SigningOutbound(tc.OutboundInterceptor):
    def __init__(self, next: tc.OutboundInterceptor, signer: ActionSigner) -> None:
        super().__init__(next)
        self.signer = signer

    async def start_workflow(self, input: tc.StartWorkflowInput) -> tc.WorkflowHandle[Any, Any]:
        if len(input.args) == 1 and _signable(input.args[0]):
            arg = input.args[0].model_copy(update={"signature": None})
            arg.signature = self.signer.sign(*self.signer.start_parts(input.id, arg))
            input.args = [arg]
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: tc.StartWorkflowUpdateInput
    ) -> tc.WorkflowUpdateHandle[Any]:
        if len(input.args) == 1 and _signable(input.args[0]):
            input.update_id = input.update_id or str(uuid.uuid4())
            arg = input.args[0].model_copy(update={"signature": None})
            parts = self.signer.update_parts(input.id, input.update, input.update_id, arg)
            arg.signature = self.signer.sign(*parts)
            input.args = [arg]
        return await super().start_workflow_update(input)


def _signable(arg: Any) -> TypeGuard[Any]:
    return isinstance(arg, BaseModel) and "signature" in type(arg).model_fields


def signing_client(client: tc.Client, signer: ActionSigner) -> tc.Client:
    """The same connection and converter, with every update and start signed."""
    if not isinstance(client, tc.Client):  # a stand-in (tests of pages that need no Temporal)
        return client
    config = client.config()
    config["interceptors"] = [*config.get("interceptors", []), SigningInterceptor(signer)]
    return tc.Client(**config)


# --- the workers' side: refuse what the API did not sign ------------------------------------


class VerifyingInterceptor(Interceptor):
    def __init__(self, signer: ActionSigner) -> None:
        self.signer = signer

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        signer = self.signer

        class Verifying(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                start = input.args[0] if len(input.args) == 1 else None
                if _signable(start):
                    info = workflow.info()
                    resumed = getattr(start, "resume", None) is not None
                    if resumed and info.continued_run_id is None:
                        raise _forbidden("a resumed case must continue an earlier run")
                    if not resumed and not signer.verify(
                        start.signature, *signer.start_parts(info.workflow_id, start)
                    ):
                        raise _forbidden("the start input is not signed by the API")
                return await super().execute_workflow(input)

            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                arg = input.args[0] if len(input.args) == 1 else None
                if _signable(arg):
                    parts = signer.update_parts(
                        workflow.info().workflow_id, input.update, input.id, arg
                    )
                    if not signer.verify(arg.signature, *parts):
                        raise _forbidden("the action is not signed by the API for this case")
                super().handle_update_validator(input)

        return Verifying


def _forbidden(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Forbidden", non_retryable=True)
