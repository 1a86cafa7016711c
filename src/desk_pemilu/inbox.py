"""A local alert inbox for `desk up`: a webhook receiver that prints each alert it gets.

It stands in for the liaisons' real channels on a developer's machine (and in the container desk),
so a newcomer sees an escalation arrive. `GET /` lists every alert received since it started.
Standard library only: a container runs this file with any Python."""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Inbox(ThreadingHTTPServer):
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.alerts: list[dict[str, object]] = []
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Inbox

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            alert = json.loads(body)
        except ValueError:
            self._answer(400, {"error": "not JSON"})
            return
        with self.server.lock:
            self.server.alerts.append(alert)
        liaison = alert.get("liaison")
        who = liaison.get("id") if isinstance(liaison, dict) else liaison
        print(f"ALERT for {who}: {alert.get('message', '')}", flush=True)
        self._answer(200, {"received": True})

    def do_GET(self) -> None:
        with self.server.lock:
            self._answer(200, {"alerts": list(self.server.alerts)})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet: the alert line says it all
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 in a container")
    args = parser.parse_args()
    server = Inbox(args.port, args.host)
    print(f"alert inbox listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
