"""create_app(settings): the only composition root. REST and GraphQL share one store and service."""

from __future__ import annotations

import gc

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.events.deadletter import DeadLetterService
from app.events.filter import ACCOUNT_EVENTS
from app.events.hub import EventFeed, Events, HubService
from app.resources import ResourceService
from app.security.authenticator import Authenticator
from app.security.hosts import HostPolicy
from app.security.principal import ACCOUNT, CUSTOMER, HUB_WRITE
from app.security.ratelimit import RateLimiter
from app.services import CustomerService
from app.settings import Settings
from app.store.base import Store
from app.store.factory import create_store
from resolvers.account_loader import AccountDoor
from resolvers.endpoint import graphql_controller
from resolvers.graphiql import graphiql_assets
from rest.auth import HostCheck, secured, security_middleware
from rest.customer import customer_router
from rest.deadletter import DeadLetterController
from rest.docs import DOCS_PATH, SwaggerUI
from rest.errors import EXCEPTION_HANDLERS
from rest.health import HEALTH_HANDLERS
from rest.hub import HubController
from rest.listener import listener_router
from rest.metrics import gauge_refresher, metrics
from rest.middleware import install as install_edge
from rest.openapi import install as install_openapi
from rest.openapi_account import account_docs_router
from rest.resource import hub_router, resource_router
from rest.resource import listener_router as api_listener_router
from rest.tracing import tracing_plugin

EXPOSED_HEADERS = ["X-Total-Count", "X-Result-Count", "Link", "ETag", "Location", "X-Request-ID"]


def _constant(value: object) -> Provide:
    def provide() -> object:
        return value

    return Provide(provide, use_cache=True, sync_to_thread=False)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    store: Store = create_store(settings)
    events = Events(store, settings)
    customer_service = CustomerService(store, on_commit=events.committed)
    # TMF666: one generic service per registered resource, and the API's own hub.
    account_services = {
        r.name: ResourceService(store, ACCOUNT_MANAGEMENT, r, on_commit=events.committed)
        for r in ACCOUNT_MANAGEMENT.resources
    }
    account_hub = HubService(store, settings, ACCOUNT_EVENTS)
    refresh_gauges, stop_refreshing_gauges = gauge_refresher(store, events.feed)
    tracing = tracing_plugin(store)  # None unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    authenticator = Authenticator(settings, store)
    # Hrefs built from the request carry its Host to every event subscriber: serve listed hosts only.
    hosts = (
        None
        if settings.public_url
        else HostCheck(HostPolicy(settings.allowed_hosts), settings.trust_forwarded_headers)
    )
    limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None
    gate = security_middleware(authenticator, limiter)

    async def close_store() -> None:
        await store.dispose()

    app = Litestar(
        route_handlers=[
            secured(CUSTOMER, customer_router(customer_service)),
            # The listeners are the hub's contract too: whoever may register callbacks may call them.
            secured(HUB_WRITE, HubController, DeadLetterController, listener_router),
            secured(ACCOUNT, *(resource_router(service) for service in account_services.values())),
            secured(
                HUB_WRITE,
                hub_router(ACCOUNT_MANAGEMENT.path, account_hub),
                api_listener_router(ACCOUNT_MANAGEMENT),
            ),
            account_docs_router(ACCOUNT_MANAGEMENT),
            *HEALTH_HANDLERS,
            *([metrics] if settings.observability else []),
            graphql_controller(
                settings, customer_service, events.feed, authenticator, AccountDoor(store, account_services)
            ),
            *graphiql_assets(settings),
        ],
        dependencies={
            "settings": _constant(settings),
            "store": _constant(store),
            "hub_service": _constant(events.hub),
            "dead_letter_service": _constant(events.dead_letters),
            "event_feed": _constant(events.feed),
        },
        signature_namespace={
            "Settings": Settings,
            "Store": Store,
            "HubService": HubService,
            "DeadLetterService": DeadLetterService,
            "EventFeed": EventFeed,
        },
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=[tracing] if tracing is not None else [],
        middleware=[gate] if gate is not None else [],
        cors_config=CORSConfig(allow_origins=settings.cors_origin_list, expose_headers=EXPOSED_HEADERS),
        openapi_config=OpenAPIConfig(
            title="TMF629 Customer Management",
            version="4.0.0",
            path=DOCS_PATH,
            render_plugins=[SwaggerUI(settings.ui_assets_dir)],
        ),
        request_max_body_size=settings.max_body_bytes,
        on_startup=[events.start, refresh_gauges],
        on_shutdown=[stop_refreshing_gauges, events.stop, close_store],
        logging_config=None,
        debug=False,
    )
    install_openapi(app, settings)  # the document built from the model
    # Outermost, routed or not: the Host check, each response's X-Request-ID and metrics, OPTIONS' Allow.
    install_edge(app, hosts, settings.observability)
    app.state.settings = settings
    app.state.store = store
    app.state.customer_service = customer_service
    app.state.account_services = account_services
    app.state.events = events
    app.state.authenticator = authenticator
    return app


def serve_app() -> Litestar:
    """The app `tmf629 serve` runs: create_app, plus a process-wide GC setting a server wants.

    Once started, everything the app keeps for its lifetime (modules, schema, routes, engines) is
    moved out of the garbage collector's sight (`gc.freeze`), so the collections that request garbage
    triggers no longer walk it: measured, a tenth of a small GraphQL query's cost. Tests build apps
    with create_app and leave the collector alone."""
    app = create_app()

    async def freeze() -> None:
        gc.collect()
        gc.freeze()

    app.on_startup.append(freeze)
    return app
