"""A witness: run by another agency (Bawaslu, Kejari) on its own machine, it cosigns the desk's
checkpoints only after checking that each extends the last it cosigned, and remembers that one.

A rewritten or forked history cannot get its cosignature: a checkpoint of the same size with
another root, a smaller one, or one whose consistency proof fails is refused (409/422) and
logged. Its state is one small JSON file, replaced atomically (write, fsync, rename)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from desk_audit.merkle import verify_consistency
from desk_audit.notes import Checkpoint, Note, NoteError, SigningKey, VerifierKey, cosign, log_signature_valid
from desk_shared.files import replaced

log = logging.getLogger(__name__)


class CosignRequest(BaseModel):
    checkpoint: str = Field(max_length=10_000)
    old_size: int = Field(ge=0)
    consistency: list[str] = Field(default_factory=list, max_length=128)


class WitnessState:
    """The last checkpoint cosigned, per log origin."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}

    def save(self) -> None:
        with replaced(self.path, sync=True) as out:
            json.dump(self.seen, out)


def _refuse(status: int, detail: str, **extra: object) -> JSONResponse:
    log.warning("refused a checkpoint: %s", detail)
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def create_app(key: SigningKey, log_key: VerifierKey, origin: str, state: WitnessState) -> FastAPI:
    app = FastAPI(title="Desk Pemilu witness", description="Cosigns a desk's checkpoints that extend the last one.")
    lock = asyncio.Lock()

    @app.get("/v1/key")
    async def public_key() -> dict[str, str]:
        return {"key": key.verifier.text(), "log_key": log_key.text(), "origin": origin}

    @app.get("/v1/checkpoint")
    async def latest() -> dict[str, Any]:
        """The last checkpoint this witness cosigned, with its cosignature (an auditor compares it with a copy)."""
        return state.seen.get(origin) or {}

    @app.post("/v1/cosign")
    async def cosign_checkpoint(request: CosignRequest) -> JSONResponse:
        try:
            note = Note.parse(request.checkpoint)
            checkpoint = Checkpoint.parse(note.body)
            proof = [base64.b64decode(p, validate=True) for p in request.consistency]
        except (NoteError, ValueError) as exc:
            return _refuse(422, f"unreadable: {exc}")
        if checkpoint.origin != origin or not log_signature_valid(note, log_key):
            return _refuse(403, f"not a checkpoint of {origin} signed by {log_key.name}")
        async with lock:
            known = state.seen.get(origin)
            size, root = (known["size"], base64.b64decode(known["root"])) if known else (0, b"")
            if request.old_size != size:
                return _refuse(409, f"this witness last cosigned size {size}", size=size)
            if checkpoint.size < size:
                return _refuse(409, f"size {checkpoint.size} is older than {size}", size=size)
            if checkpoint.size == size and checkpoint.root != root:
                return _refuse(409, f"a different root for size {size}: a forked history", size=size)
            if size and not verify_consistency(size, checkpoint.size, root, checkpoint.root, proof):
                return _refuse(422, f"size {checkpoint.size} does not extend size {size}: a rewritten history")
            signature = cosign(note.body, key, int(time.time()))
            cosigned = note.with_signature(signature)
            state.seen[origin] = {"size": checkpoint.size, "root": base64.b64encode(checkpoint.root).decode(),
                                  "checkpoint": cosigned.text()}
            await asyncio.to_thread(state.save)
        return JSONResponse({"cosignature": signature.line()})

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "size": (state.seen.get(origin) or {}).get("size", 0)}

    return app
