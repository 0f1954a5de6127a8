"""A/B tests of recommendation serving settings: defined by an admin, one running at a time, sticky per
shopper; stopping one makes the winner's settings the default.

The serving settings of a suggestion come from here only: the configured defaults (`Settings.recs_serving`),
replaced by the last stopped test's winner, and changed by the running test's variant for the shopper.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from assistant.config import Settings
from assistant.store.models import AbTest, AbVariant, utcnow
from recommender.ab import ab_report, assign_variant
from recommender.serving import FUSION_PRESETS, ServingSettings

DEFAULT_VARIANT = "default"  # the exposures' variant when no test runs
SHARE_TOLERANCE = 1e-6


class ServingChanges(BaseModel):
    """The serving settings a variant changes (the others stay at the default)."""

    model_config = ConfigDict(extra="forbid")
    diversity: float | None = Field(default=None, ge=0.0, le=1.0)
    category_cap: int | None = Field(default=None, ge=0)
    context_weight: float | None = Field(default=None, ge=0.0, le=10.0)
    candidate_pool: int | None = Field(default=None, ge=1, le=1000)
    fusion_preset: Literal[FUSION_PRESETS] | None = None  # type: ignore[valid-type]
    exclude_bought_days: int | None = Field(default=None, ge=0)


class VariantSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.-]+$")
    share: float = Field(gt=0.0, le=1.0, description="share of the shoppers, the variants' shares add up to 1")
    settings: ServingChanges = Field(default_factory=ServingChanges)


class AbTestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    variants: list[VariantSpec] = Field(min_length=2, max_length=8, description="the first one is the control")

    @model_validator(mode="after")
    def _shares_and_names(self) -> AbTestSpec:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must differ")
        if DEFAULT_VARIANT in names:
            raise ValueError(f"'{DEFAULT_VARIANT}' names the settings served outside tests; pick another name")
        total = sum(v.share for v in self.variants)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"the variants' shares must add up to 1 (they add up to {total:g})")
        return self


class AbTestConflict(RuntimeError):
    """The request does not fit the tests' state (a test already runs, or this one is stopped)."""


class AbTestNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Assignment:
    """What one shopper is served: a test's variant, or the default settings when no test runs."""

    test_id: int | None
    variant: str
    settings: ServingSettings


@dataclass(frozen=True)
class _Snapshot:
    read_at: float
    default: ServingSettings
    running: AbTest | None


class AbTests:
    """The tests in the SQL store; every worker reads the running one again after `recs_ab_refresh_s`."""

    def __init__(self, sessions: async_sessionmaker, settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._snapshot: _Snapshot | None = None

    async def assignment(self, shopper_key: str) -> Assignment:
        snapshot = await self._current()
        test = snapshot.running
        if test is None:
            return Assignment(None, DEFAULT_VARIANT, snapshot.default)
        name = assign_variant(shopper_key, [(v.name, v.share) for v in test.variants], experiment=f"ab{test.id}")
        variant = next(v for v in test.variants if v.name == name)
        return Assignment(test.id, name, ServingSettings.from_dict(variant.settings, snapshot.default))

    async def default_settings(self) -> ServingSettings:
        return (await self._current()).default

    async def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None or time.monotonic() - snapshot.read_at > self._settings.recs_ab_refresh_s:
            snapshot = self._snapshot = await self._read()
        return snapshot

    async def _read(self) -> _Snapshot:
        async with self._sessions() as db:
            running = await db.scalar(select(AbTest).where(AbTest.status == "running").order_by(AbTest.id.desc()))
            won = await db.scalar(select(AbTest.winner_settings).where(AbTest.winner_settings.is_not(None))
                                  .order_by(AbTest.stopped_at.desc(), AbTest.id.desc()).limit(1))
        default = self._settings.recs_serving
        if won:
            default = ServingSettings.from_dict(won, default)
        return _Snapshot(time.monotonic(), default, running)

    # admin ----------------------------------------------------------------------------------------

    async def create(self, spec: AbTestSpec) -> dict[str, Any]:
        async with self._sessions() as db:
            if await db.scalar(select(AbTest.id).where(AbTest.status == "running")) is not None:
                raise AbTestConflict("a test is already running: stop it first")
            test = AbTest(name=spec.name, status="running", variants=[
                AbVariant(position=n, name=v.name, share=v.share, settings=v.settings.model_dump(exclude_none=True))
                for n, v in enumerate(spec.variants)])
            db.add(test)
            await db.commit()
            test_id = test.id
        self._snapshot = None
        return await self.view(test_id)

    async def stop(self, test_id: int, winner: str | None) -> dict[str, Any]:
        """Stop a running test; a winner's full settings (over the default now) become the default."""
        default = await self.default_settings()
        async with self._sessions() as db:
            test = await db.get(AbTest, test_id)
            if test is None:
                raise AbTestNotFound(f"no A/B test {test_id}")
            if test.status != "running":
                raise AbTestConflict(f"test {test_id} is already stopped")
            names = [v.name for v in test.variants]
            if winner is not None and winner not in names:
                raise AbTestConflict(f"the winner must be one of the test's variants: {', '.join(names)}")
            test.status, test.stopped_at, test.winner = "stopped", utcnow(), winner
            if winner is not None:
                chosen = next(v for v in test.variants if v.name == winner)
                test.winner_settings = ServingSettings.from_dict(chosen.settings, default).to_dict()
            await db.commit()
        self._snapshot = None
        return await self.view(test_id)

    async def list(self) -> list[dict[str, Any]]:
        async with self._sessions() as db:
            tests = list(await db.scalars(select(AbTest).order_by(AbTest.id.desc())))
            return [_test_dict(t) for t in tests]

    async def view(self, test_id: int) -> dict[str, Any]:
        """A test with its variants and, per variant, the report's figures."""
        async with self._sessions() as db:
            test = await db.get(AbTest, test_id)
            if test is None:
                raise AbTestNotFound(f"no A/B test {test_id}")
            described = _test_dict(test)
            order = [v["name"] for v in described["variants"]]
            rows = await db.run_sync(lambda sync: ab_report(sync.connection(), test_id, order))
        described["report"] = [row.as_dict() for row in rows]
        described["default_settings"] = (await self.default_settings()).to_dict()
        return described


def _test_dict(test: AbTest) -> dict[str, Any]:
    return {"id": test.id, "name": test.name, "status": test.status, "winner": test.winner,
            "started_at": test.started_at.isoformat(), "stopped_at": test.stopped_at and test.stopped_at.isoformat(),
            "variants": [{"name": v.name, "share": v.share, "settings": v.settings} for v in test.variants]}
