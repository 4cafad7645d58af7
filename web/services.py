"""The service registry: every external service (payment provider, invoice issuer, SMS, e-mail,
transfer, identity verifier, the signing service; the courier when it comes) is registered by
its interface and looked up one way, `find_service(Interface)`, as Warehouse's `find_service`.

Each package registers its own services from its `init_app`: the interface (the Protocol in the
service's own package), the setting that chooses, and the implementations by name, each with
how it is made from the config, the settings it cannot do without, and whether it is a sandbox.
The web base imports none of them (layers); it only keeps what they register on the app.

A service is made on its first lookup, once per app: by then the config is final (test overrides
included), and a command that never pays makes no payment provider (the sandbox provider writes
its ledger and keys when made). `check` runs once every package has registered, so a bad choice
stops the app at start rather than at the first payment or message.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Implementation:
    """One way to provide a service: `make(config)` builds it; `needs` are settings that must not
    be empty when it is chosen; a sandbox answers like the real service but takes no money,
    numbers no legal invoice, delivers nothing or approves without asking anyone. `warning(config)`
    says what production warns of at start, without refusing, when the real service runs in a
    weaker way (None: nothing); `refusal(config)` what production refuses to start with."""

    make: Callable[[Mapping[str, Any]], object]
    needs: tuple[str, ...] = ()
    sandbox: bool = False
    warning: Callable[[Mapping[str, Any]], str | None] | None = None
    refusal: Callable[[Mapping[str, Any]], str | None] | None = None


@dataclass(frozen=True)
class _Registration:
    setting: str
    implementations: Mapping[str, Implementation]


@dataclass
class _Registry:
    registrations: dict[type, _Registration] = field(default_factory=dict)
    made: dict[type, object] = field(default_factory=dict)
    # Two first requests at once must not make two services (two ledgers, two SMTP pools).
    lock: threading.Lock = field(default_factory=threading.Lock)


def _registry(app: Flask) -> _Registry:
    return app.extensions.setdefault("services", _Registry())


def register(app: Flask, interface: type, setting: str, implementations: Mapping[str, Implementation]) -> None:
    """The app provides `interface` by the implementation the setting names."""
    registrations = _registry(app).registrations
    if interface in registrations:
        raise ValueError(f"{interface.__name__} is registered already (by {registrations[interface].setting})")
    registrations[interface] = _Registration(setting, dict(implementations))


def find_service(interface: type[T]) -> T:
    """The current app's service for `interface`, made on the first lookup."""
    registry = _registry(current_app)
    service = registry.made.get(interface)
    if service is None:
        with registry.lock:
            service = registry.made.get(interface)
            if service is None:
                service = registry.made[interface] = _chosen(registry, interface, current_app.config).make(
                    current_app.config)
    return service


def _chosen(registry: _Registry, interface: type, config: Mapping[str, Any]) -> Implementation:
    try:
        registration = registry.registrations[interface]
    except KeyError:
        raise LookupError(f"no service is registered for {interface.__name__}") from None
    return registration.implementations[config[registration.setting]]


@contextmanager
def service_replaced(app: Flask, interface: type[T], service: T) -> Iterator[T]:
    """For tests: `app` finds `service` for `interface` inside the block, and what it found
    before (or a freshly made one) after it."""
    registry = _registry(app)
    if interface not in registry.registrations:
        raise LookupError(f"no service is registered for {interface.__name__}")
    missing = object()
    previous = registry.made.get(interface, missing)
    registry.made[interface] = service
    try:
        yield service
    finally:
        if previous is missing:
            registry.made.pop(interface, None)
        else:
            registry.made[interface] = previous


def check(app: Flask, *, production: bool) -> None:
    """RuntimeError naming every setting that keeps the services from starting: a name no
    implementation has, an empty setting the chosen one needs, and in production a sandbox or
    what its Implementation's `refusal` says.

    Production also warns (a log warning), without refusing, of a real service run in a weaker
    way, as its Implementation's `warning` says: the signing service's CA key read from a file
    rather than kept on a token is no sandbox, but production says at start that the key is not
    on a token.
    """
    problems = []
    for registration in _registry(app).registrations.values():
        setting, name = registration.setting, app.config[registration.setting]
        implementation = registration.implementations.get(name)
        if implementation is None:
            problems.append(f"{setting}={name} is none of {', '.join(sorted(registration.implementations))}")
        elif production and implementation.sandbox:
            problems.append(f"{setting}={name} is a sandbox")
        else:
            problems += [f"{need} is empty and {setting}={name} needs it"
                         for need in implementation.needs if not app.config.get(need)]
            if production and implementation.refusal and (refused := implementation.refusal(app.config)):
                problems.append(f"{setting}={name}: {refused}")
            if production and implementation.warning and (warning := implementation.warning(app.config)):
                log.warning("%s=%s: %s", setting, name, warning)
    if problems:
        raise RuntimeError("the services cannot start: " + "; ".join(problems)
                           + " (in the environment each setting is BACKOFFICE_<NAME>)")
