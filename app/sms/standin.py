"""A stand-in for Twilio, for tests and for trying the SMS channel on one machine.

It speaks the parts of Twilio's API peerchat uses: `POST /2010-04-01/Accounts/{sid}/Messages.json`
(HTTP basic auth, form `To`, `From`, `Body`, `StatusCallback`; answered 201 with a message
resource and its `sid`), the same path with GET to list messages, status callbacks to
`StatusCallback`, and inbound texts posted to the service's webhook, signed as Twilio signs.
It records what it was asked to send and can fail on demand (error answers, or an answer that
never comes after the text was taken). Its own controls live under `/_standin/`; `/` is a
small page that plays the phone.

    python -m app.sms.standin serve [--port 8099]      # reads the PEERCHAT_ SMS settings
    python -m app.sms.standin text --from +15550100 "hello"
    python -m app.sms.standin inbox --to +15550100
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from app.core.clock import utcnow
from app.sms.twilio import signature

DEFAULT_PORT = 8099


@dataclass
class StandinConfig:
    account_sid: str
    auth_token: str
    service_url: str
    """The service's public base URL: inbound texts go to {service_url}/sms/twilio/inbound."""
    number: str
    status_callbacks: bool = True


@dataclass
class Standin:
    config: StandinConfig
    sent: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    plan: list[int | str] = field(default_factory=list)
    """What the next send requests get: an HTTP status to fail with, or "hang" (the text is
    taken but the answer never comes), consumed one per request; empty: success."""
    hang_seconds: float = 30.0
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver_inbound(
        self,
        *,
        sender: str,
        body: str,
        sid: str | None = None,
        sign: bool = True,
        url: str | None = None,
    ) -> tuple[int, str, str]:
        """Post a text to the service as Twilio does; returns (status, answer, MessageSid)."""
        sid = sid or "SM" + secrets.token_hex(16)
        params = [
            ("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"),
            ("SmsSid", sid), ("SmsStatus", "received"), ("Body", body),
            ("To", self.config.number), ("NumSegments", "1"), ("MessageSid", sid),
            ("AccountSid", self.config.account_sid), ("From", sender), ("ApiVersion", "2010-04-01"),
        ]  # fmt: skip
        url = url or self.config.service_url.rstrip("/") + "/sms/twilio/inbound"
        status, text = await self._post_signed(url, params, sign=sign)
        return status, text, sid

    async def _post_signed(
        self, url: str, params: Sequence[tuple[str, str]], *, sign: bool = True
    ) -> tuple[int, str]:
        headers = {"User-Agent": "TwilioProxy/1.1"}
        if sign:
            headers["X-Twilio-Signature"] = signature(self.config.auth_token, url, params)
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(url, data=dict(params), headers=headers)
        return response.status_code, response.text

    async def _status_callbacks(self, message: dict[str, Any]) -> None:
        url = message.get("status_callback")
        if not url:
            return
        for status in ("sent", "delivered"):
            await asyncio.sleep(0.05)
            message["status"] = status
            params = [
                ("MessageSid", message["sid"]), ("SmsSid", message["sid"]),
                ("MessageStatus", status), ("SmsStatus", status),
                ("AccountSid", self.config.account_sid), ("From", message["from"]),
                ("To", message["to"]), ("ApiVersion", "2010-04-01"),
            ]  # fmt: skip
            with contextlib.suppress(httpx.HTTPError):
                code, _ = await self._post_signed(url, params)
                self.callbacks.append({"sid": message["sid"], "status": status, "answer": code})


def _resource(config: StandinConfig, message: dict[str, Any]) -> dict[str, Any]:
    path = f"/2010-04-01/Accounts/{config.account_sid}/Messages/{message['sid']}.json"
    return {
        "account_sid": config.account_sid, "api_version": "2010-04-01",
        "body": message["body"], "date_created": message["date_created"],
        "date_sent": None, "date_updated": message["date_created"],
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": message["from"], "messaging_service_sid": None, "num_media": "0",
        "num_segments": str(message["num_segments"]), "price": None, "price_unit": "USD",
        "sid": message["sid"], "status": message["status"], "subresource_uris": {},
        "to": message["to"], "uri": path,
    }  # fmt: skip


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": "", "status": status}, status_code=status
    )


def create_standin(config: StandinConfig) -> FastAPI:
    from app.sms.content import segments

    app = FastAPI(title="peerchat SMS stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    state = Standin(config)
    app.state.standin = state
    messages_path = f"/2010-04-01/Accounts/{config.account_sid}/Messages.json"

    expected_auth = (
        "Basic " + base64.b64encode(f"{config.account_sid}:{config.auth_token}".encode()).decode()
    )

    def authorised(request: Request) -> bool:
        return secrets.compare_digest(request.headers.get("authorization", ""), expected_auth)

    @app.post(messages_path)
    async def send(request: Request) -> Response:
        if not authorised(request):
            return _twilio_error(401, 20003, "Authenticate")
        state.attempts += 1
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        action = state.plan.pop(0) if state.plan else None
        if isinstance(action, int):
            return _twilio_error(action, 20500 if action >= 500 else 20429, "Injected failure")
        to, body = form.get("To", ""), form.get("Body", "")
        if not to or not body or form.get("From") != config.number:
            return _twilio_error(400, 21602, "Message body, To and From are required")
        message = {
            "sid": "SM" + secrets.token_hex(16), "to": to, "from": form["From"], "body": body,
            "status": "queued", "date_created": format_datetime(utcnow(), usegmt=True),
            "num_segments": segments.segment_count(body),
            "status_callback": form.get("StatusCallback"),
        }  # fmt: skip
        state.sent.append(message)
        if config.status_callbacks:
            state.spawn(state._status_callbacks(message))
        if action == "hang":
            await asyncio.sleep(state.hang_seconds)
        return JSONResponse(_resource(config, message), status_code=201)

    @app.get(messages_path)
    async def list_messages(request: Request) -> Response:
        if not authorised(request):
            return _twilio_error(401, 20003, "Authenticate")
        to, sender = request.query_params.get("To"), request.query_params.get("From")
        found = [
            _resource(config, m) for m in reversed(state.sent)
            if (to is None or m["to"] == to) and (sender is None or m["from"] == sender)
        ]  # fmt: skip
        return JSONResponse({"messages": found[:100], "page": 0, "page_size": 100})

    @app.get("/_standin/messages")
    async def sent(to: str | None = None) -> dict[str, Any]:
        found = [m for m in state.sent if to is None or m["to"] == to]
        return {
            "messages": [{k: v for k, v in m.items()} for m in found],
            "attempts": state.attempts,
        }

    @app.post("/_standin/fail")
    async def fail(request: Request) -> dict[str, Any]:
        plan = (await request.json()).get("plan", [])
        state.plan = [p if isinstance(p, str) else int(p) for p in plan]
        return {"plan": state.plan}

    @app.post("/_standin/text")
    async def text(request: Request) -> dict[str, Any]:
        data = await request.json()
        status, answer, sid = await state.deliver_inbound(
            sender=str(data["from"]), body=str(data.get("body", "")), sid=data.get("sid")
        )
        return {"status": status, "answer": answer, "message_sid": sid}

    @app.get("/", response_class=HTMLResponse)
    async def phone() -> str:
        return _PHONE_PAGE.replace("{{NUMBER}}", config.number)

    return app


_PHONE_PAGE = """<!doctype html><meta charset="utf-8"><title>SMS stand-in: a phone</title>
<style>body{font:16px sans-serif;max-width:32em;margin:2em auto}li{margin:.3em 0}
.in{text-align:right;color:#064}</style>
<h1>A phone texting {{NUMBER}}</h1>
<label>Your number <input id="me" value="+15550100"></label>
<ul id="log"></ul>
<form id="f"><input id="body" size="40" autocomplete="off"> <button>Send</button></form>
<script>
const me = () => document.getElementById('me').value, seen = [];
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault(); const b = document.getElementById('body');
  seen.push({in: true, body: b.value}); draw();
  await fetch('/_standin/text', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({from: me(), body: b.value})}); b.value = '';
};
let got = [];
function draw() {
  const log = document.getElementById('log'); log.textContent = '';
  for (const m of seen.concat(got)) { const li = document.createElement('li');
    li.className = m.in ? 'in' : ''; li.textContent = m.body; log.appendChild(li); }
}
setInterval(async () => {
  const r = await fetch('/_standin/messages?to=' + encodeURIComponent(me()));
  got = (await r.json()).messages.map(m => ({body: m.body})); draw();
}, 1000);
</script>"""


def config_from_env() -> StandinConfig:
    env = os.environ
    return StandinConfig(
        account_sid=env.get("PEERCHAT_TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
        auth_token=env.get("PEERCHAT_TWILIO_AUTH_TOKEN", "standin-auth-token"),
        service_url=env.get("PEERCHAT_PUBLIC_URL", "http://127.0.0.1:8000"),
        number=env.get("PEERCHAT_SMS_NUMBER", "+15005550006"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.sms.standin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the stand-in provider")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    text = commands.add_parser("text", help="text the service from a phone number")
    text.add_argument("--from", dest="sender", required=True)
    text.add_argument("body")
    text.add_argument("--standin", default=f"http://127.0.0.1:{DEFAULT_PORT}")
    inbox = commands.add_parser("inbox", help="what the service texted a number")
    inbox.add_argument("--to", required=True)
    inbox.add_argument("--standin", default=f"http://127.0.0.1:{DEFAULT_PORT}")
    args = parser.parse_args(argv)
    if args.command == "serve":
        uvicorn.run(create_standin(config_from_env()), host=args.host, port=args.port)
        return 0
    if args.command == "text":
        answer = httpx.post(
            f"{args.standin}/_standin/text", json={"from": args.sender, "body": args.body}
        ).json()
        print(f"service answered {answer['status']}")
        return 0 if answer["status"] == 200 else 1
    found = httpx.get(f"{args.standin}/_standin/messages", params={"to": args.to}).json()
    for message in found["messages"]:
        print(f"{message['date_created']}  {message['body']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
