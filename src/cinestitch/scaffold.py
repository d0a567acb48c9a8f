"""The scaffold's manifest for a chosen provider (``cinestitch new --provider NAME``): its
``provider:`` block, the key variable it reads, and a segment length the model makes."""

from __future__ import annotations

import re

from cinestitch.providers import provider_info

ANIMATIC_BLOCK = (
    "provider:\n  name: animatic        # the embedded offline renderer: free, no key, no network\n"
)
BUDGET = (
    "budget:\n  build: 5               # USD: a build that would spend more stops before paying\n"
)
COMMENTED_TRANSPORT = {
    "veo": "  # base_url: https://generativelanguage.googleapis.com/v1beta\n",
    "openai": (
        "  # OpenAI's own Videos API was shut down on 2026-09-24: name a gateway that\n"
        "  # still speaks /v1/videos, and its dialect (openai, litellm, new-api, json,\n"
        "  # bare-key, classic)\n"
        "  # base_url: https://gateway.example/v1\n"
        "  # dialect: openai\n"
    ),
}


def provider_block(name: str) -> str:
    """The ``provider:`` block (and a budget) for provider ``name``."""
    info = provider_info(name)
    if name == "animatic":
        return ANIMATIC_BLOCK
    key = (
        f"  # the key is read from ${info.key_env} (environment, or the .env file git ignores)\n"
        if info.key_env
        else "  # needs no key\n"
    )
    return (
        f"provider:\n  name: {name}\n  model: {info.default_model}\n"
        f"{key}"
        f"{COMMENTED_TRANSPORT.get(name, '')}"
        "  max_in_flight: 2      # jobs at once, across parallel builds\n\n"
        f"{BUDGET}"
    )


def closest_seconds(wanted: float, allowed: tuple[float, ...] | None) -> float:
    """``wanted`` if the model makes it, else the nearest length it makes (longer on a tie)."""
    if not allowed or wanted in allowed:
        return wanted
    return min(allowed, key=lambda a: (abs(a - wanted), -a))


def manifest_for(text: str, name: str) -> str:
    """The scaffold manifest ``text`` switched to provider ``name``."""
    if name == "animatic":
        return text
    info = provider_info(name)
    text = text.replace(ANIMATIC_BLOCK, provider_block(name))
    caps = info.capabilities(info.default_model)

    def seconds(match: re.Match[str]) -> str:
        value = closest_seconds(float(match.group(2)), caps.allowed_seconds)
        return f"{match.group(1)}{value:g}"

    return re.sub(r"(\n  seconds: )([0-9.]+)", seconds, text)
