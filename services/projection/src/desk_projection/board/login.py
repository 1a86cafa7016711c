"""Signing in and out at the board's own address: the form is relayed to the access service over
NATS request-reply (`desk.access.login`), which checks the password and starts the session; the
session cookie is then set here, so the person never leaves this address. Passwords never touch
the projection's database or log."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from desk_access.http_guard import SESSION_COOKIE
from desk_access.login_api import clear_session_cookie, set_session_cookie
from desk_projection.board.relay import ask
from desk_shared.contracts import subjects

MAX_FORM_BYTES = 4096


def login_router(cookie_secure: bool) -> APIRouter:
    router = APIRouter()

    @router.api_route("/masuk", methods=["GET", "POST"], response_class=HTMLResponse, tags=["board"],
                      summary="The login page (GET), and signing in with its form (POST)",
                      responses={303: {"description": "Signed in: on to the board, with the session cookie"},
                                 400: {"description": "Not a login form", "content": {"text/html": {}}},
                                 401: {"description": "Wrong login or password", "content": {"text/html": {}}},
                                 429: {"description": "Too many failed logins", "content": {"text/html": {}}},
                                 503: {"description": "Logins cannot be checked now",
                                       "content": {"text/html": {}}}})
    async def sign_in(request: Request) -> Response:
        """One route for both methods: a resource's `Allow` names every method it takes."""
        if request.method == "GET":
            return _form(200)
        body = await request.body()
        fields = parse_qs(body.decode("utf-8", "replace")) if len(body) <= MAX_FORM_BYTES else {}
        login, password = (fields.get("login") or [""])[0].strip(), (fields.get("password") or [""])[0]
        if not login or not password:
            return _form(400, "Isi nama login dan kata sandi.", login)
        answer = await ask(request, subjects.ACCESS_LOGIN, {"login": login, "password": password})
        if answer is None:
            return _form(503, "Login belum dapat diperiksa (layanan akses tidak terjangkau). Coba lagi sebentar "
                              "lagi.", login)
        if "token" not in answer:
            refused = int(answer.get("refused") or 401)
            if refused == 429:
                return _form(429, f"Terlalu banyak percobaan gagal. Coba lagi dalam {answer.get('retry_after')} "
                                  "detik.", login, {"Retry-After": str(answer.get("retry_after") or 60)})
            return _form(401 if refused != 400 else 400, "Nama login atau kata sandi salah.", login)
        redirect = RedirectResponse("/papan", status_code=303)
        set_session_cookie(redirect, str(answer["token"]), int(answer["lifetime_seconds"]), cookie_secure)
        return redirect

    @router.post("/keluar", tags=["board"], summary="Sign out (ends the session)",
                 responses={303: {"description": "Signed out: back to the login page"}})
    async def sign_out(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await ask(request, subjects.ACCESS_LOGOUT, {"token": token})
        redirect = RedirectResponse("/masuk", status_code=303)
        clear_session_cookie(redirect, cookie_secure)
        return redirect

    return router


def _form(status: int, message: str | None = None, login: str = "",
          headers: dict[str, str] | None = None) -> HTMLResponse:
    note = f'<p class="galat" role="alert">{html.escape(message)}</p>' if message else ""
    page = f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Masuk — Desk Pemilu</title>
<link rel="stylesheet" href="/static/papan.css"></head>
<body class="pesan"><h1>Masuk ke Desk Pemilu</h1>{note}
<form method="post" action="/masuk" class="masuk">
<label>Nama login <input name="login" autocomplete="username" required value="{html.escape(login)}"></label>
<label>Kata sandi <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Masuk</button></form></body></html>"""
    return HTMLResponse(page, status_code=status, headers=headers)
