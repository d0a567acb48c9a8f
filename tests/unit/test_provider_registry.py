"""The provider registry makes each entry on first use: every entry describes the provider
it is registered as, and loading a project imports only the model tables it names."""

from __future__ import annotations

import subprocess
import sys

from cinestitch.providers import PROVIDERS, provider_info, provider_names


def test_every_entry_is_the_provider_it_is_registered_as() -> None:
    for name in provider_names(None):
        info = PROVIDERS[name]
        assert info.name == name and info is provider_info(name)
        assert info.default_model in info.models or info.open_models
    assert sorted(PROVIDERS) == provider_names(None) and len(PROVIDERS) == 8
    assert PROVIDERS.get("sora") is None and "sora" not in PROVIDERS


def test_only_the_named_providers_tables_are_imported() -> None:
    code = (
        "import sys; from cinestitch.providers import provider_info, provider_names; "
        "names = provider_names(None); provider_info('fal'); "
        "print(len(names), sorted(m.rsplit('.', 1)[1] for m in sys.modules "
        "if m.startswith('cinestitch.providers.') and m.endswith('_models')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "8 ['fal_models']"
