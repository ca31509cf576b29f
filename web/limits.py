"""Request bodies are bounded before anything reads them: no sign-in check or parser sees an oversized body."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vreception.i18n import negotiate, translate

# A form or a JSON body is text typed by a person; only multipart uploads carry files.
MAX_TEXT_BODY = 1024 * 1024
# Form fields besides the files of one upload request.
MULTIPART_OVERHEAD = 1024 * 1024


class BodyTooLarge(Exception):
    """The body grew past its limit while it was being received."""


def body_limit(app: ASGIApp, *, max_upload_bytes: int, max_files: int, default_language: str) -> ASGIApp:
    """APP behind a 413 for bodies over their limit: by Content-Length at once, else while they arrive."""
    multipart_limit = max_upload_bytes * max_files + MULTIPART_OVERHEAD

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = multipart_limit if kind == b"multipart/form-data" else MAX_TEXT_BODY
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, default_language)
            return
        if kind != b"multipart/form-data":
            # A text body is small: take it whole first, so that an oversized one never reaches the app.
            messages, received = [], 0
            while True:
                message = await receive()
                messages.append(message)
                received += len(message.get("body", b""))
                if received > limit:
                    await _refuse(scope, send, default_language)
                    return
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            replay = iter(messages)

            async def replayed() -> Message:
                return next(replay, None) or await receive()

            await app(scope, replayed, send)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, counted, tracking)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, send, default_language)

    return limited


async def _refuse(scope: Scope, send: Send, default_language: str) -> None:
    headers = dict(scope.get("headers") or [])
    lang = negotiate(headers.get(b"accept-language", b"").decode("latin-1"), default_language)
    body = json.dumps({"detail": translate("error.too_large", lang), "code": "too_large"},
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
