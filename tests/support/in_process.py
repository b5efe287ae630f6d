"""The fast tier's Bot API: PTB's request interface answered in-process, no socket.

`InProcessRequest` is a `telegram.request.BaseRequest` that hands each call to the same
in-memory model the HTTP test server uses (`TelegramTestServer.call` / `.download`, never
started here), so both tiers see the same chats, JSON shapes, validation ("message is not
modified", 64-byte callback data, ...) and recorded calls. It is the fast tier's stand-in
for api.telegram.org; the other one is `FixedTranscriber` (tests/support/transcriber.py).
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from tests.support.telegram_server import TelegramTestServer, UploadedFile, _coerce

ROOT = "http://bot-api.in-process"  # telegram_api_base_url of a fast-tier bot; never resolved


class InProcessRequest(BaseRequest):
    """Answers the bot's Bot API calls and file downloads from `server`'s memory."""

    def __init__(self, server: TelegramTestServer) -> None:
        self.server = server

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open: there is no connection."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        """One call, shaped as the HTTP server reads it: form values coerced, files attached."""
        path = unquote(urlsplit(url).path)  # as aiohttp decodes it
        if path.startswith("/file/bot"):
            token, _, file_path = path.removeprefix("/file/bot").partition("/")
            answer = await self.server.download(token, file_path)
        else:
            token, _, api_method = path.removeprefix("/bot").partition("/")
            params = {}
            files: dict[str, UploadedFile] = {}
            if request_data is not None:
                params = {k: _coerce(k, v) for k, v in request_data.json_parameters.items()}
                for name, (filename, data, mime) in request_data.multipart_data.items():
                    raw = data if isinstance(data, bytes) else data.read()
                    files[name] = UploadedFile(name, filename, mime, raw)
            answer = await self.server.call(token, api_method, params, files)
        if answer == self.server.DROP:
            raise NetworkError("connection dropped (drop_next)")
        assert isinstance(answer, tuple)
        status, body = answer
        if isinstance(body, dict):
            return status, json.dumps(body).encode()
        return status, body if isinstance(body, bytes) else str(body).encode()
