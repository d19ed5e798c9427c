"""Messages from outside (a citizen's feedback, a court's ruling) to a waiting case."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JSON, PREFIX, EngineDep, PrincipalDep, StateDep
from api.schemas import MessageIn, MessageOut
from engine import access

router = APIRouter(prefix=PREFIX, tags=["messages"])


@router.post("/messages", response_model=MessageOut, dependencies=[JSON])
def deliver(
    body: MessageIn, engine: EngineDep, principal: PrincipalDep, state: StateDep
) -> MessageOut:
    """Deliver a message; the correlation key is the case number. 403 for a message the engine
    alone sends or one the message file does not give to the caller's roles, 404 if no such
    case is visible, 409 if the case is not waiting for that message."""
    with engine.db.session() as s:
        actor = access.can_send_message(
            s, principal, body.correlation_key, body.name, state.messages
        )
    engine.deliver_message(body.name, body.correlation_key, body.payload, actor)
    return MessageOut(case_no=body.correlation_key)
