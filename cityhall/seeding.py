"""The demo city is built by steps that each app contributes in its own `seed.py`.

A step is a function decorated with `@step(order)`; `seed_demo` runs them in order with one
shared, seeded random generator, so the same command always builds the same city.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from faker import Faker


@dataclass
class SeedContext:
    residents: int
    parcels: int
    stdout: TextIO
    seed: int = 20261123
    rng: random.Random = field(init=False)
    faker: Faker = field(init=False)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.faker = Faker("ja_JP")
        self.faker.seed_instance(self.seed)

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")


SeedStep = Callable[[SeedContext], None]
_steps: list[tuple[int, str, SeedStep]] = []


def step(order: int) -> Callable[[SeedStep], SeedStep]:
    def register(func: SeedStep) -> SeedStep:
        name = f"{func.__module__}.{func.__name__}"
        if all(existing != name for _, existing, _ in _steps):
            _steps.append((order, name, func))
        return func

    return register


def steps() -> list[tuple[int, str, SeedStep]]:
    return sorted(_steps, key=lambda item: (item[0], item[1]))
