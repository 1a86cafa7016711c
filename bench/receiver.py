"""A webhook receiver for the benchmarks, run as its own process (so its work does not share a
GIL with the load it measures): records when each alert arrived; `/slow` answers after 3 s.

    python -m bench.receiver PORT        GET /arrivals -> {alert_id: unix time}
                                         GET /reports -> {report_id: unix time of its first alert}
                                         GET /counts -> {alert_id: POSTs received}
    and an SMS gateway as notify expects one: POST /gw/messages (counted by reference in
    GET /gw/counts), GET /gw/messages/<reference> 200 if taken, else 404."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import uvicorn

Scope = dict[str, Any]


def make_app() -> Any:
    arrivals: dict[str, float] = {}
    reports: dict[str, float] = {}
    counts: dict[str, int] = {}
    sms: dict[str, int] = {}

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        answer = b""
        status = 200
        if scope["method"] == "GET" and path == "/arrivals":
            answer = json.dumps(arrivals).encode()
        elif scope["method"] == "GET" and path == "/counts":
            answer = json.dumps(counts).encode()
        elif scope["method"] == "GET" and path == "/gw/counts":
            answer = json.dumps(sms).encode()
        elif scope["method"] == "GET" and path.startswith("/gw/messages/"):
            status = 200 if path.rsplit("/", 1)[1] in sms else 404
        elif path == "/gw/messages":
            reference = json.loads(body or b"{}").get("reference", "")
            sms[reference] = sms.get(reference, 0) + 1
            status = 202
        elif scope["method"] == "GET" and path == "/reports":
            answer = json.dumps(reports).encode()
        elif path == "/slow":
            await asyncio.sleep(3.0)
        elif path == "/alerts":
            now = time.time()
            alert = json.loads(body or b"{}")
            if "alert_id" in alert:
                arrivals.setdefault(alert["alert_id"], now)
                counts[alert["alert_id"]] = counts.get(alert["alert_id"], 0) + 1
            if report := alert.get("incident", {}).get("report_id"):
                reports.setdefault(report, now)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                backlog=4096)
