"""The Gemini API as both Veo and the image models reach it: one endpoint, one version, the
key in one header.

What each sends and reads there differs (``predictLongRunning`` operations in ``veo``,
``generateContent`` answers in ``gemini_image``) and stays in its adapter. This module imports
nothing, so the models' data (``gemini_image_models``) can name the endpoint without loading
the HTTP layer.
"""

from __future__ import annotations

PUBLIC_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
API_VERSION = "v1beta"
KEY_HEADER = "x-goog-api-key"


def api_root(base_url: str | None) -> str:
    """The server root, whether ``base_url`` ends in ``/v1beta`` or not."""
    root = (base_url or PUBLIC_BASE_URL).rstrip("/")
    return root.removesuffix("/" + API_VERSION)


class GeminiApi:
    """Where a driver on the Gemini API finds its root and sends its key; mixed in before
    ``_driver.HttpDriver``."""

    def _root_of(self, base_url: str | None) -> str:
        return api_root(base_url)

    def _auth(self, key: str) -> dict[str, str]:
        return {KEY_HEADER: key}


def refuses_key(status: int, said: str) -> bool:
    """Whether an answer is the Gemini API refusing the key: it says so with HTTP 400
    (``INVALID_ARGUMENT``, reason ``API_KEY_INVALID``: "API key not valid"), not 401."""
    return status == 400 and ("api key" in said.lower() or "API_KEY_INVALID" in said)
