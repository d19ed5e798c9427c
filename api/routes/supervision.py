"""Human 督办: issue, list, read, answer (情况说明), record the outcome of 约谈/督查; circulars."""

from __future__ import annotations

from typing import Annotated, Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Body, Path, Query

from api.deps import JSON, PREFIX, AppState, PrincipalDep, StateDep
from api.supervision_schemas import (
    AnswerFormOut,
    OrderIn,
    OrderKind,
    OrderList,
    OrderOut,
    OutcomeIn,
)
from engine.runtime import Engine
from engine.supervision import Supervision, build_supervision

router = APIRouter(prefix=PREFIX, tags=["supervision"])
OrderId = Annotated[str, Path(min_length=1, max_length=32)]


#: A supervision service for an engine built without one (an embedding application's own
#: listeners): 督办 needs only the database, the policy and the calendar.
_STANDALONE: WeakKeyDictionary[Engine, Supervision] = WeakKeyDictionary()


def desk(state: AppState) -> Supervision:
    """The engine's supervision service (``build_engine`` wires one)."""
    engine = state.engine
    for listener in engine.listeners:
        if isinstance(listener, Supervision):
            return listener
    found = _STANDALONE.get(engine)
    if found is None:
        found = build_supervision(state.settings, engine.db, clock=state.clock)
        _STANDALONE[engine] = found
    return found


@router.post("/supervision/orders", response_model=OrderOut, status_code=201, dependencies=[JSON])
def issue(body: OrderIn, state: StateDep, principal: PrincipalDep) -> Any:
    """Issue a 督办单, 挂牌督办, 通报, 约谈 or 督查. 督办员, the centres and leaders over the unit
    may issue (403 otherwise); a 督办单 opens the unit's answer with its time limit."""
    return desk(state).issue_order(principal, **body.model_dump())


@router.get("/supervision/orders", response_model=OrderList)
def list_orders(
    state: StateDep,
    principal: PrincipalDep,
    mine: Annotated[bool, Query(description="only those addressed to my units")] = False,
    order_state: Annotated[str | None, Query(alias="state", max_length=16)] = None,
    kind: OrderKind | None = None,
    case_no: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """督办 in my jurisdiction (or, with ``mine``, those my units must answer), newest first."""
    found = desk(state).list_orders(
        principal, state=order_state, kind=kind, case_no=case_no, mine=mine, limit=limit
    )
    return {"items": found}


@router.get("/supervision/circulars", response_model=OrderList)
def circulars(state: StateDep, principal: PrincipalDep) -> Any:
    """The published 通报 of my jurisdiction (the unit-level circulars)."""
    return {"items": desk(state).list_orders(principal, kind="circular")}


@router.get("/supervision/answer-form", response_model=AnswerFormOut)
def answer_form(state: StateDep, principal: PrincipalDep) -> Any:
    """The JSON Schema (and rjsf ui schema) of the unit's 情况说明."""
    return desk(state).answer_form()


@router.get("/supervision/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: OrderId, state: StateDep, principal: PrincipalDep) -> Any:
    return desk(state).get_order(principal, order_id)


@router.post("/supervision/orders/{order_id}/answer", response_model=OrderOut, dependencies=[JSON])
def answer(
    order_id: OrderId,
    state: StateDep,
    principal: PrincipalDep,
    form: Annotated[dict[str, Any], Body(description="the form supervision_answer")],
) -> Any:
    """The unit's 情况说明 (form ``forms/supervision_answer.schema.json``; 422 names the field)."""
    return desk(state).answer_order(principal, order_id, form)


@router.post("/supervision/orders/{order_id}/outcome", response_model=OrderOut, dependencies=[JSON])
def outcome(order_id: OrderId, body: OutcomeIn, state: StateDep, principal: PrincipalDep) -> Any:
    """The outcome of a 约谈 or 督查; an interview without improvement calls a 督查."""
    return desk(state).record_outcome(
        principal, order_id, outcome=body.outcome, improved=body.improved
    )
