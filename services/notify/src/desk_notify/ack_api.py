"""Notify's HTTP API: liaisons acknowledge an escalation by the link in their alert (a page, then
one button: link previewers that open the page acknowledge nothing) or, logged in, by an API
call, or by replying to the alert in Telegram; anyone who reads the board sees where an
incident's chain stands."""

from __future__ import annotations

import hmac
import html
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field

from desk_access import problems
from desk_access.http_guard import AUTH_RESPONSES, requires
from desk_notify.channels.telegram import reply_of
from desk_notify.escalation.chains import Chain, NoChain
from desk_notify.escalation.links import AckLinks, ExpiredLink
from desk_notify.escalation.watcher import Escalations
from desk_shared.access.people import Capability, Principal
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.escalation import AckChannel
from desk_shared.contracts.taxonomy import Category
from desk_shared.runtime.publisher import EventPublisher, PublishFailed

Liaison = Annotated[Principal, Depends(requires(Capability.ACKNOWLEDGE))]
Reader = Annotated[Principal, Depends(requires(Capability.READ_BOARD))]
RETRY = {"Retry-After": "2"}


@dataclass(frozen=True)
class Desk:
    """What the API needs once notify has read the log (None before)."""

    escalations: Escalations
    publisher: EventPublisher


class AckBody(BaseModel):
    liaison_id: str | None = Field(None, max_length=100, examples=["polsek:11.13.01"],
                                   description="Which alert of the chain this answers (default: the person).")


class Acknowledgement(BaseModel):
    incident_id: uuid.UUID
    chain_id: uuid.UUID
    liaison_id: str
    via: AckChannel
    first: bool = Field(description="False: the chain had been acknowledged already (by this one, or another).")


class ChainView(BaseModel):
    incident_id: uuid.UUID
    chain_id: uuid.UUID
    kecamatan_code: str
    severity: str
    rule: str
    policy_version: str
    started_at: AwareDatetime
    step: int
    round: int
    steps: int
    rounds: int
    next_at: AwareDatetime | None = Field(description="When the next step, reminder or exhaustion is due.")
    acknowledged_by: str | None
    acknowledged_at: AwareDatetime | None
    exhausted: bool


def chain_view(chain: Chain) -> ChainView:
    s = chain.started
    return ChainView(incident_id=s.incident_id, chain_id=s.chain_id, kecamatan_code=s.kecamatan_code,
                     severity=s.severity.value, rule=s.rule, policy_version=s.policy_version,
                     started_at=chain.started_at, step=chain.step, round=chain.round, steps=len(s.steps),
                     rounds=s.rounds, next_at=chain.deadline, exhausted=chain.exhausted,
                     acknowledged_by=chain.acknowledged.liaison_id if chain.acknowledged else None,
                     acknowledged_at=chain.acknowledged_at)


def create_app(desk: Callable[[], Desk | None], links: AckLinks | None, telegram_secret: str | None = None) -> FastAPI:
    app = FastAPI(title="Desk Pemilu — notify", version="1",
                  description="Acknowledging escalations (by link or by API) and the state of escalation chains.")
    problems.install(app)

    def ready() -> Desk:
        found = desk()
        if found is None:
            raise problems.still_starting("notify")
        return found

    async def record(incident_id: uuid.UUID, liaison_id: str, via: AckChannel, actor: Actor,
                     person_id: str | None = None, chain_id: uuid.UUID | None = None) -> Acknowledgement:
        d = ready()
        try:
            ack, first = await d.escalations.acknowledge(d.publisher, incident_id, liaison_id, via, actor, person_id,
                                                         chain_id)
        except NoChain as exc:
            raise HTTPException(404, str(exc)) from None
        except (PublishFailed, TimeoutError) as exc:
            raise HTTPException(503, f"the acknowledgement was not recorded ({exc}); try again", RETRY) from None
        return Acknowledgement(incident_id=incident_id, chain_id=ack.chain_id, liaison_id=ack.liaison_id,
                               via=ack.via, first=first)

    def linked(code: str) -> tuple[Chain, str] | int:
        """The chain and liaison of a link's code, or why not as a status (404 unknown, 410 expired)."""
        d = ready()
        if links is None:
            return 404
        try:
            return links.find(d.escalations.chains, code, datetime.now(UTC)) or 404
        except ExpiredLink:
            return 410

    @app.get("/ack/{code}", response_class=HTMLResponse, tags=["acknowledgement"],
             summary="The page of an alert's acknowledgement link (acknowledges nothing by itself)",
             responses={404: {"description": "No running escalation has this link"},
                        410: {"description": "The link expired"}})
    async def ack_page(code: str) -> HTMLResponse:
        found = linked(code)
        if isinstance(found, int):
            return _page(found, "Tautan tidak dapat dipakai", _LINK_ERRORS[found])
        chain, _ = found
        what = _what(chain)
        if chain.acknowledged is not None:
            return _page(200, "Sudah diterima", f"{what} sudah dikonfirmasi diterima oleh "
                                                f"{chain.acknowledged.liaison_id}.")
        return _page(200, "Konfirmasi penerimaan peringatan", f"{what}. Tekan tombol di bawah untuk menyatakan "
                                                             "bahwa Anda menerima dan menangani peringatan ini.",
                     form=True)

    @app.post("/ack/{code}", response_class=HTMLResponse, tags=["acknowledgement"],
              summary="Acknowledge by an alert's link",
              responses={404: {"description": "No running escalation has this link"},
                         410: {"description": "The link expired"}})
    async def ack_by_link(code: str) -> HTMLResponse:
        found = linked(code)
        if isinstance(found, int):
            return _page(found, "Konfirmasi gagal", _LINK_ERRORS[found])
        chain, liaison_id = found
        ack = await record(chain.started.incident_id, liaison_id, "link", Actor(kind="person", id=liaison_id),
                           chain_id=chain.chain_id)
        if ack.first:
            return _page(200, "Terima kasih", "Penerimaan peringatan sudah dicatat. Eskalasi ke tingkat berikutnya "
                                              "dihentikan.")
        return _page(200, "Sudah diterima", f"Peringatan ini sudah dikonfirmasi oleh {ack.liaison_id}.")

    @app.post("/telegram/updates", tags=["acknowledgement"],
              summary="The Telegram bot's webhook: a reply to an alert acknowledges it",
              responses={403: {"description": "Not from Telegram (wrong secret token)"},
                         404: {"description": "No Telegram bot on this desk"}})
    async def telegram_update(update: dict[str, Any], token: Annotated[
            str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None) -> dict[str, Any]:
        if telegram_secret is None:
            raise HTTPException(404, "no Telegram bot is configured on this desk")
        if token is None or not hmac.compare_digest(token, telegram_secret):
            raise HTTPException(403, "not from this desk's Telegram bot")
        reply = reply_of(update)
        if reply is None:
            return {}  # not an answer to an alert: nothing to do (Telegram must not retry it)
        found = linked(reply.code)
        if isinstance(found, int):
            return {"method": "sendMessage", "chat_id": reply.chat_id, "text": _LINK_ERRORS[found]}
        chain, liaison_id = found
        ack = await record(chain.started.incident_id, liaison_id, "bot", Actor(kind="person", id=reply.sender),
                           chain_id=chain.chain_id)
        text = ("Terima kasih, penerimaan dicatat. Eskalasi dihentikan." if ack.first
                else f"Sudah dikonfirmasi sebelumnya oleh {ack.liaison_id}.")
        return {"method": "sendMessage", "chat_id": reply.chat_id, "text": text}

    @app.post("/v1/incidents/{incident_id}/acknowledgement", response_model=Acknowledgement,
              tags=["acknowledgement"], summary="A logged-in liaison acknowledges an incident's escalation",
              responses={**AUTH_RESPONSES, 404: {"description": "No chain running for it in your areas"}})
    async def ack_by_api(incident_id: uuid.UUID, body: AckBody, liaison: Liaison) -> Acknowledgement:
        chain = ready().escalations.chains.by_incident.get(incident_id)
        if chain is None or not liaison.sees(chain.started.kecamatan_code):
            raise HTTPException(404, f"no escalation of incident {incident_id} is running in your areas")
        return await record(incident_id, body.liaison_id or f"person:{liaison.login}", "api", liaison.actor,
                            person_id=liaison.person_id)

    @app.get("/v1/incidents/{incident_id}/escalation", response_model=ChainView, tags=["escalation"],
             summary="Where an incident's escalation chain stands",
             responses={**AUTH_RESPONSES, 404: {"description": "No chain running for it in your areas"}})
    async def escalation(incident_id: uuid.UUID, reader: Reader) -> ChainView:
        chain = ready().escalations.chains.by_incident.get(incident_id)
        if chain is None or not reader.sees(chain.started.kecamatan_code):
            raise HTTPException(404, f"no escalation of incident {incident_id} is running in your areas")
        return chain_view(chain)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok" if desk() is not None else "starting"}

    return app


_LINK_ERRORS = {404: "Tautan ini tidak dikenal, atau eskalasinya sudah selesai (insiden ditutup atau diperbarui). "
                     "Salin ulang tautan dari pesan peringatan terbaru.",
                410: "Tautan ini sudah kedaluwarsa. Hubungi Desk Pemilu secara langsung."}


def _what(chain: Chain) -> str:
    e = chain.started.escalation
    return f"{e.severity.upper()}: {Category(e.category).label} (kecamatan {e.kecamatan_code}): {e.summary}"


def _page(status: int, title: str, text: str, form: bool = False) -> HTMLResponse:
    button = ('<form method="post"><button type="submit">Saya terima dan tangani</button></form>' if form else "")
    body = (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)} — Desk Pemilu</title>'
            '<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}'
            'button{font-size:1.2rem;padding:.8rem 1.2rem}</style></head>'
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}</body></html>")
    return HTMLResponse(body, status_code=status)
