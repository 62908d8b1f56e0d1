"""The six services by name: their settings classes and composition roots."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from services.runtime.service import ServiceDefinition
from services.runtime.settings import RuntimeSettings, load_settings

SERVICE_NAMES = ("ingress", "licensing", "maintenance", "ticketing", "notification", "portal")


def _bootstrap(name: str) -> ModuleType:
    if name not in SERVICE_NAMES:
        raise KeyError(f"unknown service {name!r}; one of {', '.join(SERVICE_NAMES)}")
    return importlib.import_module(f"services.{name}.bootstrap")


def settings_class(name: str) -> type[RuntimeSettings]:
    cls: type[RuntimeSettings] = _bootstrap(name).SETTINGS
    return cls


def settings_classes() -> list[type[RuntimeSettings]]:
    return [settings_class(name) for name in SERVICE_NAMES]


def definition(name: str, settings: RuntimeSettings | None = None) -> ServiceDefinition:
    """The service built from `settings`, or from the environment (SettingsError names every
    invalid variable)."""
    module = _bootstrap(name)
    built: ServiceDefinition = module.build(settings or load_settings(module.SETTINGS))
    return built


def described(name: str) -> ServiceDefinition:
    """The service with just enough settings to describe it (topics, migrations, documents),
    whatever the environment holds."""
    from services.licensing.domain.keys import generate_private_key

    required: dict[str, dict[str, Any]] = {"licensing": {"signing_key": generate_private_key()}}
    return definition(name, settings_class(name).model_validate(required.get(name, {})))
