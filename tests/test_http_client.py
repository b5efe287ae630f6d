"""bot/http_client.py: PTB's requests over aiohttp behave as PTB's own HTTPXRequest.

Real sockets on loopback: the local Bot API test server for what a bot sends, and small aiohttp
servers for what Telegram's side can do wrong (never answer, refuse) and for a proxy. The rest
of the suite runs every flow over this transport too; these pin the edges it has to get right.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http_client import AiohttpRequest
from tests.support.eventually import eventually
from tests.support.ports import free_port
from tests.support.telegram_server import TOKEN, TelegramTestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """A loopback HTTP(S) server answering every path with `handler`; yields its root URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def opened(request: AiohttpRequest) -> AsyncIterator[AiohttpRequest]:
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


async def test_a_bot_sends_text_and_files_and_reads_files_through_it(
    server: TelegramTestServer,
) -> None:
    request = AiohttpRequest()
    bot = Bot(
        TOKEN,
        base_url=f"{server.root}/bot",
        base_file_url=f"{server.root}/file/bot",
        request=request,
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    person = server.person(user_id=501)
    async with bot:
        sent = await bot.send_message(person.chat_id, "ä & = ? text")
        await bot.send_document(person.chat_id, b"%PDF-1 bytes", filename="page.pdf")
        person.send_voice(b"OggS fake voice bytes", duration=2)
        [update] = await bot.get_updates(timeout=1)
        assert update.message is not None and update.message.voice is not None
        voice = await update.message.voice.get_file()
        heard = await voice.download_as_bytearray()
    assert sent.text == "ä & = ? text"  # the form encoding survived the round trip
    assert [m.text for m in person.messages][:1] == ["ä & = ? text"]
    [document] = [m.document for m in person.messages if m.document is not None]
    assert (document.filename, document.data) == ("page.pdf", b"%PDF-1 bytes")
    assert bytes(heard) == b"OggS fake voice bytes"


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    async with serving(hang) as root, opened(AiohttpRequest(read_timeout=0.3)) as request:
        with pytest.raises(TimedOut):
            await request.post(f"{root}/botX/getMe")
        with pytest.raises(TimedOut):  # a timeout given to the call wins over the default
            await request.post(f"{root}/botX/getMe", read_timeout=0.1)
        never.set()


async def test_a_full_pool_is_a_pool_timeout_and_nothing_is_sent() -> None:
    never = asyncio.Event()
    arrived: list[str] = []

    async def hang(request: web.Request) -> web.Response:
        arrived.append(request.path)
        await never.wait()
        return web.json_response({"ok": True, "result": True})

    pool = AiohttpRequest(connection_pool_size=1, read_timeout=30)
    async with serving(hang) as root, opened(pool) as request:
        first = asyncio.create_task(request.post(f"{root}/botX/first"))
        assert await eventually(lambda: arrived == ["/botX/first"], within=10)
        with pytest.raises(TimedOut, match="Connect timeout"):
            await request.post(f"{root}/botX/second", pool_timeout=0.2, connect_timeout=0)
        assert arrived == ["/botX/first"]
        never.set()
        assert await first is True


async def test_a_refused_connection_is_a_network_error() -> None:
    async with opened(AiohttpRequest()) as request:
        with pytest.raises(NetworkError, match="aiohttp"):
            await request.post(f"http://127.0.0.1:{free_port()}/botX/getMe")


async def test_the_environment_proxy_carries_requests_unless_the_host_is_exempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(str(request.url))  # a proxy is asked for the absolute URL
        return web.json_response({"ok": True, "result": {"through": "proxy"}})

    async with serving(proxy) as proxy_root:
        monkeypatch.setenv("HTTP_PROXY", proxy_root)
        monkeypatch.setenv("NO_PROXY", "exempt.invalid")
        async with opened(AiohttpRequest(connect_timeout=0.5)) as request:
            assert await request.post("http://api.example.invalid/botX/getMe") == {
                "through": "proxy"
            }
            with pytest.raises(NetworkError):  # not proxied: the name does not resolve
                await request.post("http://exempt.invalid/botX/getMe")
    assert len(seen) == 1 and seen[0].endswith("api.example.invalid/botX/getMe")


async def test_parameters_go_as_a_urlencoded_form_and_the_request_reopens_after_shutdown() -> None:
    bodies: list[tuple[str, dict[str, str]]] = []

    async def echo(request: web.Request) -> web.Response:
        bodies.append((request.content_type, dict(await request.post())))  # type: ignore[arg-type]
        return web.json_response({"ok": True, "result": True})

    request = AiohttpRequest()
    data = RequestData(
        [RequestParameter.from_input(k, v) for k, v in {"chat_id": 7, "text": "a&b=c"}.items()]
    )
    async with serving(echo) as root:
        async with opened(request):
            await request.post(f"{root}/botX/sendMessage", request_data=data)
        async with opened(request):  # PTB initializes a bot again after a shutdown
            await request.post(f"{root}/botX/sendMessage", request_data=data)
    expected = ("application/x-www-form-urlencoded", {"chat_id": "7", "text": "a&b=c"})
    assert bodies == [expected, expected]


async def test_a_server_whose_certificate_no_authority_signed_is_refused(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": True})

    async with serving(answer, tls) as root, opened(AiohttpRequest()) as request:
        with pytest.raises(NetworkError, match="CertificateError"):  # verified, and refused
            await request.post(f"{root}/botX/getMe")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (trusted by nobody)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_file
