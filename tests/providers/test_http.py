"""The shared HTTP layer's pure parts: Retry-After, the retry hook, provider messages,
keys from the environment or .env, and redaction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cinestitch.errors import ProviderError, ProviderUnavailableError
from cinestitch.providers import _http
from cinestitch.providers._http import (
    Secret,
    find_key,
    parse_retry_after,
    provider_message,
    read_dotenv,
    read_key,
    redact,
    retry_wait,
)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    """Retry-After is read as seconds or an HTTP date; junk or absence is None."""
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_the_retry_hook_waits_what_the_server_asked() -> None:
    """stamina's hook retries our transient errors, after their Retry-After when given."""
    error = ProviderUnavailableError("x")
    assert retry_wait(_http._Retry(error, 3.0)) == 3.0
    assert retry_wait(_http._Retry(error)) is True
    assert retry_wait(ProviderError("no")) is False
    assert retry_wait(ValueError("no")) is False


def test_the_providers_own_words_are_found() -> None:
    """Google's and OpenAI's error envelopes give their message; text falls back, one line."""
    google = httpx.Response(
        400, json={"error": {"code": 400, "message": "bad size", "status": "INVALID_ARGUMENT"}}
    )
    assert provider_message(google) == "INVALID_ARGUMENT: bad size"
    openai = httpx.Response(400, json={"error": {"message": "Invalid value", "type": "x"}})
    assert provider_message(openai) == "Invalid value"
    text = httpx.Response(502, text="<html>\n Bad   gateway\n</html>")
    assert provider_message(text) == "<html> Bad gateway </html>"


def test_dotenv_lines(tmp_path: Path) -> None:
    """.env takes NAME=value, export, quotes and comments; bad lines are skipped."""
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A=1\nB='two words'\nC=\"3\"\nD=4 # note\nnot a line\n=5\n")
    assert read_dotenv(env) == {"A": "1", "B": "two words", "C": "3", "D": "4"}
    assert read_dotenv(tmp_path / "missing") == {}


def test_the_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key in the environment is used before the project's .env."""
    (tmp_path / ".env").write_text("K_TEST=from-file\n")
    monkeypatch.delenv("K_TEST", raising=False)
    assert find_key("K_TEST", tmp_path) == "from-file"
    monkeypatch.setenv("K_TEST", "from-env")
    assert find_key("K_TEST", tmp_path) == "from-env"
    assert find_key("K_TEST_NONE", tmp_path) is None


def test_a_missing_key_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key: a one-line error naming the variable and .env, proving no job."""
    monkeypatch.delenv("K_TEST_NONE", raising=False)
    with pytest.raises(ProviderError) as caught:
        read_key("veo", "K_TEST_NONE", None)
    assert str(caught.value).startswith(
        "veo: no API key — set the environment variable K_TEST_NONE"
    )
    assert caught.value.no_job


def test_a_secret_never_shows_itself() -> None:
    """A Secret's repr and str are masked, and its value is redacted from any text."""
    secret = Secret("sk-very-secret-value")
    assert "very" not in repr(secret) and "very" not in str(secret)
    assert secret.reveal() == "sk-very-secret-value"
    assert redact("echo sk-very-secret-value!") == "echo ***!"


def test_one_shared_client_per_process() -> None:
    """The shared client is made once and made again after it is closed."""
    first = _http.shared_client()
    assert _http.shared_client() is first
    _http.close_shared_client()
    assert first.is_closed
    again = _http.shared_client()
    assert again is not first and not again.is_closed
    _http.close_shared_client()
