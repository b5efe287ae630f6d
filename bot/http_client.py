"""PTB's requests to the Bot API over aiohttp instead of httpx.

Why: with many updates in flight every answer is one HTTP request, and httpx's connection
pool spends event-loop time per request that grows with the requests in flight (2.2 ms each
at 64 in flight against 0.65 ms at one; aiohttp stays near 0.3 ms, bench/http_client.py).
The event loop was the bottleneck of a burst of people writing at once (bench/burst.py), so
this is the transport PTB uses; everything above it (methods, retries, errors) is PTB's own,
through its public `BaseRequest` seam. It mirrors `telegram.request.HTTPXRequest`: the same
default timeouts, the same errors (`TimedOut`, `NetworkError`) for the same failures, the same
form encoding, certifi's CA bundle, and the proxy of the environment (HTTPS_PROXY, NO_PROXY),
looked up once per host rather than per request.

aiohttp has no write timeout: a request's whole time is bounded by the sum of its timeouts
instead (a large upload has `media_write_timeout` of it, as with httpx).
"""

from __future__ import annotations

import ssl
import urllib.request
from urllib.parse import urlencode, urlsplit

import aiohttp
import certifi
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECT_TIMEOUT_MESSAGE = (
    "Connect timeout: no free connection in the pool, or the server did not accept one in "
    "time. The request was *not* sent to Telegram."
)
FORM = "application/x-www-form-urlencoded"


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session (created in `initialize`, on the bot's loop)."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host) -> proxy URL

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (get_updates adds its long-poll time to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Opens the session; again after a shutdown (PTB may restart a bot)."""
        if self._session is None or self._session.closed:
            # certifi's CA bundle, as httpx uses: the same servers are trusted as before
            tls = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0, ssl=tls)
            self._session = aiohttp.ClientSession(connector=connector)
            self._proxies.clear()

    async def shutdown(self) -> None:
        """Closes the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Sends one request; returns the status and the whole body."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(pool, connect),  # waiting for a free connection, then opening it
            sock_connect=connect,
            sock_read=read,
        )
        headers = {"User-Agent": self.USER_AGENT}
        body = _body(request_data)
        if isinstance(body, bytes):
            headers["Content-Type"] = FORM
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=body,
                timeout=timeout,
                proxy=self._proxy(url),
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as err:
            raise TimedOut(CONNECT_TIMEOUT_MESSAGE) from err
        except TimeoutError as err:  # aiohttp's read and total timeouts are TimeoutErrors
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for this URL's host (as httpx reads it), looked up once."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            bypass = not key[1] or urllib.request.proxy_bypass(parts.netloc)
            proxies = urllib.request.getproxies()
            self._proxies[key] = None if bypass else proxies.get(key[0]) or proxies.get("all")
        return self._proxies[key]


def _given(value: float | object | None, default: float | None) -> float | None:
    """A timeout passed to the call, else this request's default."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return value if isinstance(value, int | float) else None


def _sum(*parts: float | None) -> float | None:
    """The bound on the whole: None (no bound) if any part is unbounded."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
    """The parameters as PTB sends them: a urlencoded form, multipart when there are files."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.multipart_data:
        return urlencode(fields).encode() if fields else None
    form = aiohttp.FormData(fields)
    for name, (filename, content, content_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form
