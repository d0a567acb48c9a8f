"""What every network adapter's driver shares: its set-up, and the small readings of a handle.

An adapter module keeps its own wire format (pure ``build_*`` / ``parse_*``) and its own
driver methods; ``HttpDriver`` only does what each of them did the same way: the work dir, the
transport, the server root, the key read from ``key_env`` (the environment or the project's
``.env``) and the ``_http.Api`` that sends it only to that root, and a repr without the key.
A subclass names its provider and says how its root is read and how its key is sent.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from cinestitch.atomic import write_text_atomic
from cinestitch.errors import GenerationFailedError, ProviderError, ProviderUnavailableError
from cinestitch.providers import _http
from cinestitch.providers.base import JobHandle, JobStatus, Transport
from cinestitch.providers.spec import DEFAULT_TRANSPORT

M = TypeVar("M")
T = TypeVar("T")
RECORDS_DIR = "submissions"


class HttpDriver(abc.ABC):
    """A network provider's driver: ``work_dir``, ``transport``, ``root``, ``key_env`` and
    ``_api`` (``client`` sends; ``None``: the process's shared client)."""

    name: str
    default_key_env: str
    """The variable the key is read from when ``transport.key_env`` names none."""
    unbilled_create: frozenset[int] = frozenset()
    """HTTP statuses that, answering a submission, mean no job was made (the provider's
    documentation says so): retried like a refused connection. Any other 5xx answer to a
    submission may have made a job, so it is looked up, never sent again blindly."""

    def __init__(
        self,
        work_dir: Path,
        transport: Transport = DEFAULT_TRANSPORT,
        client: httpx.Client | None = None,
        project_root: Path | None = None,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.transport = transport
        self.root = self._root_of(transport.base_url)
        self.key_env = transport.key_env or self.default_key_env
        self._api = self._connect(client, project_root)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"

    @abc.abstractmethod
    def _root_of(self, base_url: str | None) -> str:
        """The server root for ``provider.base_url`` (``None``: the public endpoint)."""

    @abc.abstractmethod
    def _auth(self, key: str) -> dict[str, str]:
        """The headers that carry ``key``."""

    def _connect(self, client: httpx.Client | None, project_root: Path | None) -> _http.Api:
        """The endpoint, with the key (a one-line ``ProviderError`` when it is missing)."""
        key = _http.read_key(self.name, self.key_env, project_root)
        return self._api_with(self._auth(key.reveal()), client)

    def _api_with(self, auth: Mapping[str, str], client: httpx.Client | None) -> _http.Api:
        return _http.Api(
            self.name,
            client or _http.shared_client(),
            self.transport,
            auth,
            self.root,
            self.key_env,
            unbilled_create=self.unbilled_create,
        )


def polled(
    api: _http.Api,
    url: str,
    read: Callable[[Any], T],
    *,
    job: str,
    speaker: str,
    on_status: _http.StatusHook | None = None,
) -> tuple[T, httpx.Response]:
    """Poll ``url`` and ``read`` the answer; one that ``read`` cannot take (``ValueError``)
    is a passing fault, said as ``{speaker}: poll of {job}: …``."""
    data, response = api.send_json("GET", url, what="poll", on_status=on_status)
    try:
        return read(data), response
    except ValueError as exc:
        raise ProviderUnavailableError(
            f"{speaker}: poll of {job}: {exc} — try again later", may_be_billed=True
        ) from None


def unless_overdue(handle: JobHandle, transport: Transport, status: JobStatus) -> JobStatus:
    """``status``, as the provider just said it; a job still unfinished longer than
    ``transport.job_timeout`` after it was submitted stops its segment instead, with the job
    journaled, so the next build asks for it again. It is never called FAILED unasked: a
    job declared failed is forgotten and submitted again, and it may still finish (or have
    finished, when a build resumes it late) and be billed twice."""
    if status.state.is_final:
        return status
    overdue = _http.overdue(handle, transport)
    if overdue is None:
        return status
    raise ProviderError(overdue, may_be_billed=True)


def expected_seconds(handle: JobHandle) -> float | None:
    """The clip length the handle says was asked for (``None``: any length)."""
    expected = handle.state.get("expected_seconds")
    return float(expected) if isinstance(expected, int | float) else None


def model_in(table: Mapping[str, M], provider: str, name: str) -> M:
    """The model ``name`` of ``table``; a ``GenerationFailedError`` (no job) naming the known
    ones otherwise."""
    found = table.get(name)
    if found is None:
        raise GenerationFailedError(
            f"{provider}: unknown model '{name}' — use one of {', '.join(table)}", no_job=True
        )
    return found


# -- submission records ----------------------------------------------------------------------


def record_path(work_dir: Path, key: str) -> Path:
    """Where the record of the submission for request key ``key`` is kept."""
    return work_dir / RECORDS_DIR / f"{key}.json"


def write_record(provider: str, work_dir: Path, key: str, text: str) -> None:
    """Keep a submission's record (JSON ``text``, never a key) before and after it is sent, so
    that ``lookup`` can find a job whose answer was lost."""
    try:
        write_text_atomic(record_path(work_dir, key), text)
    except OSError as exc:
        raise ProviderError(
            f"{provider}: cannot record the submission in {work_dir} — {exc}", no_job=True
        ) from exc


def claimed_job_ids(work_dir: Path, key: str) -> set[str]:
    """The job ids the records of every other submission know as theirs."""
    ids: set[str] = set()
    for path in (work_dir / RECORDS_DIR).glob("*.json"):
        if path.stem == key:
            continue
        record = read_record(work_dir, path.stem)
        if record is not None and isinstance(record.get("id"), str):
            ids.add(record["id"])
    return ids


def read_record(work_dir: Path, key: str) -> dict[str, Any] | None:
    """The record kept for ``key``; ``None`` when there is none, or it is not a JSON object."""
    try:
        data = json.loads(record_path(work_dir, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
