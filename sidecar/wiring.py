"""The one place that builds the sidecar's objects and hands each its dependencies.

    Store ─┬─ PersonaRegistry ── Dialogue (EmbeddedEngine, LineSource, QualityGate, Context) ─┐
           │                        └─ SceneDirector (turn-taker, over Dialogue's steps) ──┤
           └─ Router (providers, SqliteCostLedger)  ───────────────────────────────── Services
                                                                      Services + send ─ Dispatcher

`services()` opens the store, loads the personas and, with a provider config, builds the
provider chain and the quality gate; it closes the providers' HTTP client and the store on
the way out. `dispatcher()` joins the services to the transport's send function. Nothing is
set on an object after it is built. server/app.py owns the process (socket, auth, signals);
tests and tools that want a sidecar without a socket call these two functions too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.pipeline.context import Context
from sidecar.engine.recollect import DEFAULT_WEIGHTS, RecallWeights
from sidecar.engine.scene.director import SceneDirector
from sidecar.engine.turn import Dialogue, LineSource, PersonaRegistry
from sidecar.personas.loader import load_personas
from sidecar.server.dispatch import Dispatcher, Send, Services
from sidecar.store.db import DB_FILENAME, Store

if TYPE_CHECKING:
    from sidecar.engine.quality import QualityGate
    from sidecar.llm.router import Router
    from sidecar.llm.spec import LlmSettings
    from sidecar.store.costs import SqliteCostLedger

log = logging.getLogger(__name__)


def personas(personas_dir: Path) -> tuple[PersonaRegistry, int]:
    """The registry of every valid persona under `personas_dir`, and how many problems the
    loader found (each logged; a bad file is skipped, never fatal)."""
    loaded = load_personas(personas_dir)
    for problem in loaded.problems:
        log.warning("persona problem: %s", problem)
    return PersonaRegistry(loaded.personas), len(loaded.problems)


def _gate(settings: LlmSettings) -> QualityGate:
    from sidecar.engine.quality import DEFAULT_MAX_RETRIES, DEFAULT_THRESHOLD, QualityGate

    q = settings.quality
    return QualityGate(
        DEFAULT_THRESHOLD if q.threshold is None else q.threshold,
        DEFAULT_MAX_RETRIES if q.max_retries is None else q.max_retries,
    )


def _ledger(store: Store) -> Callable[[], SqliteCostLedger]:
    """The store's cost ledger, made once on first call (the LLM package loads only then)."""

    @functools.cache
    def get() -> SqliteCostLedger:
        from sidecar.store.costs import SqliteCostLedger

        return SqliteCostLedger(store)

    return get


def _recall(settings: LlmSettings | None) -> RecallWeights:
    """The config's `[memory]` over the engine's default recall weights."""
    if settings is None:
        return DEFAULT_WEIGHTS
    m, d = settings.memory, DEFAULT_WEIGHTS
    return RecallWeights(
        recency=d.recency if m.recency is None else m.recency,
        importance=d.importance if m.importance is None else m.importance,
        relevance=d.relevance if m.relevance is None else m.relevance,
        decay_per_hour=d.decay_per_hour if m.decay_per_hour is None else m.decay_per_hour,
        limit=d.limit if m.limit is None else m.limit,
    )


def dialogue(
    store: Store,
    registry: PersonaRegistry,
    router: Router | None,
    gate: QualityGate | None,
    recall: RecallWeights = DEFAULT_WEIGHTS,
) -> Dialogue:
    """The conversation service: the embedded engine alone, or the provider chain with the
    embedded engine as its last link."""
    engine = EmbeddedEngine()
    source: LineSource | None = None
    context: Context | None = None
    if router is not None:
        from sidecar.engine.routed import RoutedSource
        from sidecar.engine.routed_summary import RoutedSummariser

        routed = RoutedSource(router, engine)
        summariser = RoutedSummariser(routed.ask, lambda: router.first_ready() is not None)
        source, context = routed, Context(store, summariser, routed.budget)
    return Dialogue(store, registry, engine, source=source, gate=gate, recall=recall, context=context)


@asynccontextmanager
async def services(data_dir: Path, personas_dir: Path, llm: LlmSettings | None) -> AsyncIterator[Services]:
    """Everything the ops answer from; `llm`: the resolved provider config, or None (every
    line from the embedded engine). Raises StoreError if the database cannot be opened."""
    store = await Store.open(data_dir / DB_FILENAME)
    router: Router | None = None
    try:
        registry, problems = personas(personas_dir)
        ledger = _ledger(store)
        gate: QualityGate | None = None
        if llm is not None:
            from sidecar.llm.router import Router

            router = Router.from_settings(llm, ledger())
            gate = _gate(llm)
        else:
            log.info("no provider config: every line comes from the embedded engine")
        conversations = dialogue(store, registry, router, gate, _recall(llm))
        yield Services(
            dialogue=conversations,
            scenes=SceneDirector(conversations),
            store=store,
            personas=registry,
            persona_problems=problems,
            router=router,
            ledger=ledger,
        )
    finally:
        if router is not None:
            await router.aclose()
        await store.close()


def dispatcher(services: Services, send: Send, *, started: float) -> Dispatcher:
    return Dispatcher(services, send, started=started)


__all__ = ["dialogue", "dispatcher", "personas", "services"]
