"""The one HTTP layer of every network provider: the client, timeouts, retries, errors, keys.

- **One client per process.** ``shared_client()`` makes it on first use and closes it at
  exit; adapters take a client by injection (tests hand in their own), never make one.
- **Retries** (``stamina``: jittered exponential backoff, ``Retry-After`` honoured) for 429,
  5xx and connection errors. A *create* call is retried only when the failure proves that
  no job was made (the connection never opened, or a 429 refusal); any other failure after
  the request left is ambiguous: raised at once with ``may_be_billed=True``, never retried.
- **Errors** become ``ProviderUnavailableError`` (could not reach it), ``GenerationFailedError``
  (it refused this request) or ``ProviderError`` (auth, retired endpoints), in one line that
  names the provider, the HTTP status and the provider's own words.
- **Keys** come from the environment or the project's ``.env``; they are registered here
  and redacted from every message this module builds.
"""

from __future__ import annotations

import atexit
import email.utils
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import stamina

import cinestitch
from cinestitch.errors import (
    GenerationFailedError,
    JobNotFoundError,
    MediaError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers.base import JobHandle, Transport

ATTEMPTS = 5
"""Tries of one request (the first included) before giving up on 429/5xx/network errors."""
WAIT_INITIAL, WAIT_MAX, WAIT_JITTER = 1.0, 60.0, 1.0
RETRY_AFTER_MAX = 300.0
"""A ``Retry-After`` longer than this is reported instead of waited out."""
DOWNLOAD_ATTEMPTS = 3
MAX_DOWNLOAD_BYTES = 2 * 1024**3
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
CHUNK = 1 << 20
T = TypeVar("T")

_client: httpx.Client | None = None
_secrets: set[str] = set()


# -- the client ------------------------------------------------------------------------------


def shared_client() -> httpx.Client:
    """This process's HTTP client, made on first use and closed at exit."""
    global _client
    if _client is None or _client.is_closed:
        _client = httpx.Client(
            headers={"User-Agent": f"cinestitch/{cinestitch.__version__}"},
            follow_redirects=False,
            timeout=httpx.Timeout(Transport().timeout, connect=CONNECT_TIMEOUT),
        )
        atexit.register(close_shared_client)
    return _client


def close_shared_client() -> None:
    global _client
    if _client is not None:
        _client.close()
        _client = None


def request_timeout(transport: Transport) -> httpx.Timeout:
    return httpx.Timeout(transport.timeout, connect=min(transport.timeout, CONNECT_TIMEOUT))


# -- secrets ---------------------------------------------------------------------------------


class Secret:
    """A key that never shows itself: its repr and str are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 4:
            _secrets.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def redact(text: str) -> str:
    """``text`` with every registered key replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def read_dotenv(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a ``.env`` file (``export``, quotes and comments allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[name.strip()] = value
    return found


def find_key(env_name: str, project_root: Path | None) -> str | None:
    """The key in the environment variable ``env_name``, else in the project's ``.env``."""
    value = os.environ.get(env_name, "").strip()
    if not value and project_root is not None:
        value = read_dotenv(project_root / ".env").get(env_name, "").strip()
    return value or None


def read_key(provider: str, env_name: str, project_root: Path | None) -> Secret:
    """The provider's key as a ``Secret``; a one-line ``ProviderError`` when it is missing."""
    value = find_key(env_name, project_root)
    if value is None:
        raise ProviderError(
            f"{provider}: no API key — set the environment variable {env_name} "
            f"(or add {env_name}=... to the project's .env, which git ignores)",
            no_job=True,
        )
    return Secret(value)


# -- errors ----------------------------------------------------------------------------------


class _Retry(Exception):
    """A failure worth another try; ``error`` is what to raise when the tries run out."""

    def __init__(self, error: ProviderError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


def retry_wait(exc: Exception) -> bool | float:
    """stamina's hook: retry a ``_Retry`` (after its ``Retry-After`` if it has one)."""
    if isinstance(exc, _Retry):
        return exc.wait if exc.wait is not None else True
    return False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds, or an HTTP date); ``None`` if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def provider_message(response: httpx.Response) -> str:
    """The provider's own words from an error answer (Google and OpenAI envelopes, or text)."""
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    said: Any = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            said = error.get("message") or error.get("status") or error.get("code")
            status = error.get("status")
            if said and isinstance(status, str) and status not in str(said):
                said = f"{status}: {said}"
            details = error.get("details")
            if said and isinstance(details, str) and details and details not in str(said):
                said = f"{said}: {details}"  # ComfyUI puts the reason here
        elif isinstance(error, str):
            said = error
        said = said or data.get("message") or _detail_text(data.get("detail"))
        nodes = node_errors_text(data.get("node_errors"))
        if said and nodes:
            said = f"{said} ({nodes})"
        kind = data.get("error_type")
        if said and isinstance(kind, str) and kind not in str(said):
            said = f"{kind}: {said}"
    if not said:
        text = response.text if response.is_stream_consumed or not response.is_closed else ""
        said = text
    return one_line(str(said or response.reason_phrase or "no message"))


def node_errors_text(node_errors: Any) -> str | None:
    """``node_errors`` of a ``/prompt`` answer in a few words (node, type, first error), or
    ``None`` when there are none: ComfyUI queues a workflow whose other outputs are valid
    and leaves these nodes out."""
    if not isinstance(node_errors, Mapping) or not node_errors:
        return None
    parts = []
    for node, found in list(node_errors.items())[:3]:
        found = found if isinstance(found, Mapping) else {}
        errors = found.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else {}
        first = first if isinstance(first, Mapping) else {}
        said = ": ".join(str(first[k]) for k in ("message", "details") if first.get(k))
        kind = found.get("class_type")
        parts.append(f"node {node}{f' ({kind})' if kind else ''}" + (f": {said}" if said else ""))
    return one_line("; ".join(parts))


def _detail_text(detail: Any) -> str | None:
    """A ``detail`` field: text, or a list of ``{type, msg}`` errors (fal's model errors)."""
    if isinstance(detail, list):
        parts = [
            ": ".join(str(d[k]) for k in ("type", "msg") if d.get(k))
            for d in detail
            if isinstance(d, dict)
        ]
        return "; ".join(p for p in parts if p) or None
    return detail if isinstance(detail, str) else None


def one_line(text: str, limit: int = 300) -> str:
    """``text`` redacted, whitespace collapsed and cut to ``limit`` characters."""
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


StatusHook = Callable[[int, str], ProviderError | None]
"""An adapter's own reading of an HTTP error (status, provider's words), or ``None``."""


def job_lost(subject: str, how: str, statuses: tuple[int, ...] = (404, 410)) -> StatusHook:
    """The reading of a poll answered with one of ``statuses``: the server no longer knows
    the job (``{subject} is unknown (HTTP …) — {how}; it may have been billed``)."""

    def hook(status: int, said: str) -> ProviderError | None:
        if status not in statuses:
            return None
        return JobNotFoundError(
            f"{subject} is unknown (HTTP {status}: {said}) — {how}; it may have been billed",
            may_be_billed=True,
        )

    return hook


def status_error(
    provider: str, what: str, status: int, said: str, *, key_env: str, create: bool
) -> ProviderError:
    """The error for a final (not retried) HTTP status."""
    billed = not create
    no_job = create
    if status in (401, 403):
        return ProviderError(
            f"{provider}: the key was refused (HTTP {status}: {said}) — check {key_env}",
            no_job=no_job,
            may_be_billed=billed,
        )
    if status == 429:
        return ProviderUnavailableError(
            f"{provider}: rate limited on {what} (HTTP 429: {said}) — lower "
            "provider.max_in_flight or try again later",
            no_job=no_job,
            may_be_billed=billed,
        )
    if status >= 500:
        return ProviderUnavailableError(
            f"{provider}: {what} failed (HTTP {status}: {said}) — try again later",
            no_job=no_job,
            may_be_billed=billed,
        )
    if create:
        return GenerationFailedError(
            f"{provider}: refused the request (HTTP {status}: {said}) — fix the segment's "
            "settings; not billed",
            no_job=True,
        )
    return ProviderError(f"{provider}: {what} failed (HTTP {status}: {said})", may_be_billed=True)


# -- requests --------------------------------------------------------------------------------


def retried(call: Callable[[], T], attempts: int) -> T:
    """``call``, tried again while it raises ``_Retry`` (after its ``Retry-After`` if it has
    one), at most ``attempts`` times; the error of the last ``_Retry`` is raised then."""
    try:
        for attempt in stamina.retry_context(
            on=retry_wait,
            attempts=attempts,
            timeout=None,
            wait_initial=WAIT_INITIAL,
            wait_max=WAIT_MAX,
            wait_jitter=WAIT_JITTER,
        ):
            with attempt:
                return call()
    except _Retry as exc:
        raise exc.error from None
    raise AssertionError("unreachable: stamina either returns or raises")


class Api:
    """One provider's endpoint: its client, auth headers, timeouts and error wording."""

    def __init__(
        self,
        provider: str,
        client: httpx.Client,
        transport: Transport,
        auth: Mapping[str, str],
        origin_url: str,
        key_env: str,
        *,
        unbilled_create: frozenset[int] = frozenset(),
    ) -> None:
        self.provider = provider
        self.client = client
        self.transport = transport
        self._auth = dict(auth)
        self.origin = _origin(origin_url)
        self.key_env = key_env
        self.unbilled_create = unbilled_create

    def __repr__(self) -> str:
        return f"Api({self.provider!r}, {self.origin[0]}://{self.origin[1]})"

    def _headers(self, url: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        """Auth headers only for our own origin: a key never goes to a storage host."""
        headers = dict(self._auth) if _origin(url) == self.origin else {}
        return {**headers, **(extra or {})}

    def send_json(
        self,
        method: str,
        url: str,
        *,
        what: str,
        create: bool = False,
        on_status: StatusHook | None = None,
        **kwargs: Any,
    ) -> tuple[Any, httpx.Response]:
        """Send with retries and return (the decoded JSON body, the response)."""

        def once() -> tuple[Any, httpx.Response]:
            response = self._once(method, url, what, create, on_status, **kwargs)
            return self._decode(response, what, create), response

        return retried(once, ATTEMPTS)

    def _once(
        self,
        method: str,
        url: str,
        what: str,
        create: bool,
        on_status: StatusHook | None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = self.client.request(
                method,
                url,
                headers=self._headers(url, headers),
                timeout=request_timeout(self.transport),
                **kwargs,
            )
        except httpx.TransportError as exc:
            raise self._transport_error(exc, what, create) from None
        if response.is_success:
            return response
        raise self._answer_error(response, what, create, on_status)

    def _transport_error(self, exc: httpx.TransportError, what: str, create: bool) -> Exception:
        host = _host(str(exc.request.url)) if _has_request(exc) else self.origin[1]
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if never_sent:
            error = ProviderUnavailableError(
                f"{self.provider}: cannot connect to {host} ({one_line(str(exc)) or 'refused'})"
                " — check the network or provider.base_url",
                no_job=create,
                may_be_billed=not create,
            )
            return _Retry(error)
        if isinstance(exc, httpx.TimeoutException):
            said = f"no answer from {host} within {self.transport.timeout:g} s"
        else:
            said = f"the connection to {host} broke ({type(exc).__name__}: {one_line(str(exc))})"
        if create:
            return ProviderUnavailableError(
                f"{self.provider}: {said} after the job was sent — it may have been created "
                "and billed; check the provider's dashboard before resubmitting",
                may_be_billed=True,
                no_job=False,
            )
        return _Retry(
            ProviderUnavailableError(
                f"{self.provider}: {what}: {said} — try again later or raise provider.timeout",
                may_be_billed=True,
            )
        )

    def _answer_error(
        self, response: httpx.Response, what: str, create: bool, on_status: StatusHook | None
    ) -> Exception:
        status = response.status_code
        said = provider_message(response)
        own = on_status(status, said) if on_status else None
        if own is not None:
            return own
        if status == 429:
            wait = parse_retry_after(response.headers.get("retry-after"))
            error = status_error(
                self.provider, what, status, said, key_env=self.key_env, create=create
            )
            if wait is not None and wait > RETRY_AFTER_MAX:
                return ProviderUnavailableError(
                    f"{error} (it asks to wait {wait:g} s)",
                    no_job=create,
                    may_be_billed=not create,
                )
            return _Retry(error, wait)
        if status >= 500:
            wait = parse_retry_after(response.headers.get("retry-after"))
            wait = wait if wait is not None and wait <= RETRY_AFTER_MAX else None
            if create and status in self.unbilled_create:
                error = ProviderUnavailableError(
                    f"{self.provider}: HTTP {status} ({said}) answered the submission, which "
                    f"{self.provider} documents as making no job — try again later",
                    no_job=True,
                )
                return _Retry(error, wait)
            if create:
                return ProviderUnavailableError(
                    f"{self.provider}: HTTP {status} ({said}) answered the submission — the job "
                    "may have been created and billed; check the provider's dashboard before "
                    "resubmitting",
                    may_be_billed=True,
                    no_job=False,
                )
            error = status_error(
                self.provider, what, status, said, key_env=self.key_env, create=False
            )
            return _Retry(error, wait)
        return status_error(self.provider, what, status, said, key_env=self.key_env, create=create)

    def _decode(self, response: httpx.Response, what: str, create: bool) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            said = one_line(response.text, 80)
            if create:
                raise ProviderUnavailableError(
                    f"{self.provider}: the answer to the submission is not JSON ({said!r}) — the "
                    "job may have been created and billed; check the provider's dashboard",
                    may_be_billed=True,
                ) from None
            raise _Retry(
                ProviderUnavailableError(
                    f"{self.provider}: {what}: the answer is not JSON ({said!r}) — try again later",
                    may_be_billed=True,
                )
            ) from None

    # -- downloads -----------------------------------------------------------------------

    def download(
        self,
        url: str,
        dest: Path,
        *,
        expected_seconds: float | None,
        limit: int = MAX_DOWNLOAD_BYTES,
        on_status: StatusHook | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[Path], None] | None = None,
    ) -> None:
        """Stream ``url`` (following redirects) to ``dest`` atomically, checked as a video of
        about ``expected_seconds`` (``None``: any length); a bad download is fetched again,
        then reported. ``check`` replaces the video check (a still's: decode it and rewrite
        it in place as the PNG wanted); it raises ``MediaError`` for a damaged file."""
        retried(
            lambda: self._download_once(
                url, dest, expected_seconds, limit, on_status, headers, check
            ),
            DOWNLOAD_ATTEMPTS,
        )

    def _download_once(
        self,
        url: str,
        dest: Path,
        expected_seconds: float | None,
        limit: int,
        on_status: StatusHook | None,
        headers: Mapping[str, str] | None,
        check: Callable[[Path], None] | None = None,
    ) -> None:
        from cinestitch.atomic import atomic_path
        from cinestitch.media.check import check_video

        with atomic_path(dest) as tmp:
            with self._open_stream(url, headers, on_status) as response:
                _write_limited(response, tmp, limit, self.provider)
            try:
                if check is not None:
                    check(tmp)
                elif expected_seconds is None:
                    check_video(tmp, 0.0, math.inf)
                else:
                    check_video(tmp, expected_seconds)
            except MediaError as exc:
                reason = one_line(str(exc).replace(str(tmp), "the download"))
                what = "clip is not a whole video" if check is None else "file is not a whole image"
                raise _Retry(
                    ProviderUnavailableError(
                        f"{self.provider}: the downloaded {what} ({reason}) "
                        "— nothing was cached; run the build again to fetch it again",
                        may_be_billed=True,
                    )
                ) from None

    def _open_stream(
        self, url: str, headers: Mapping[str, str] | None, on_status: StatusHook | None
    ) -> _Stream:
        return _Stream(self, url, headers, on_status)


class _Stream:
    """A streamed GET that follows redirects itself, sending our key only to our origin."""

    def __init__(
        self, api: Api, url: str, headers: Mapping[str, str] | None, on_status: StatusHook | None
    ) -> None:
        self.api, self.url, self.headers, self.on_status = api, url, headers, on_status
        self.response: httpx.Response | None = None

    def __enter__(self) -> httpx.Response:
        api, url = self.api, self.url
        for _ in range(MAX_REDIRECTS + 1):
            request = api.client.build_request(
                "GET",
                url,
                headers=api._headers(url, self.headers),
                timeout=request_timeout(api.transport),
            )
            try:
                response = api.client.send(request, stream=True, follow_redirects=False)
            except httpx.TransportError as exc:
                raise api._transport_error(exc, "download", False) from None
            if response.is_redirect and "location" in response.headers:
                response.close()
                url = urljoin(url, response.headers["location"])
                continue
            if not response.is_success:
                response.read()
                response.close()
                raise api._answer_error(response, "download", False, self.on_status)
            self.response = response
            return response
        raise ProviderError(f"{api.provider}: download: more than {MAX_REDIRECTS} redirects")

    def __exit__(self, *exc: object) -> None:
        if self.response is not None:
            self.response.close()


def _write_limited(response: httpx.Response, tmp: Path, limit: int, provider: str) -> None:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProviderError(
            f"{provider}: the clip is {int(declared)} bytes, above the {limit} byte limit",
            may_be_billed=True,
        )
    written = 0
    try:
        with open(tmp, "wb") as out:
            for chunk in _chunks(response):
                written += len(chunk)
                if written > limit:
                    raise ProviderError(
                        f"{provider}: the clip is above the {limit} byte limit",
                        may_be_billed=True,
                    )
                out.write(chunk)
    except httpx.TransportError as exc:
        raise _Retry(
            ProviderUnavailableError(
                f"{provider}: the download broke after {written} bytes "
                f"({type(exc).__name__}) — run the build again to fetch it again",
                may_be_billed=True,
            )
        ) from None


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    yield from response.iter_bytes(CHUNK)


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


def overdue(handle: JobHandle, transport: Transport) -> str | None:
    """Why a job has waited longer than ``transport.job_timeout``, or ``None``."""
    started = handle.state.get("submitted_at")
    if not isinstance(started, int | float) or isinstance(started, bool):
        return None
    waited = time.time() - started
    if waited <= transport.job_timeout:
        return None
    shown = f"{waited:.0f}" if waited >= 10 else f"{waited:.1f}"
    return (
        f"{handle.provider}: job {handle.job_id} is unfinished after {shown} s "
        f"(provider.job_timeout is {transport.job_timeout:g} s) — it stays journaled and the "
        "next build asks for it again; raise provider.job_timeout to wait longer, or stop it "
        f"with `cinestitch jobs cancel {handle.job_id}`"
    )
