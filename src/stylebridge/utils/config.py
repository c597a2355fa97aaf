"""Configs as data: the one `to_dict` / `from_dict` every network config shares (generator,
discriminator, encoder, glyph classifier). `to_dict` is what a file stores (JSON-ready:
tuples become lists); `from_dict` refuses fields this version does not know, so a file
written by a newer stylebridge fails with one clear line instead of being half-read."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from stylebridge.errors import CheckpointError

_C = TypeVar("_C", bound="ConfigData")


def field_default(cls: type, name: str) -> Any:
    """The default of dataclass `cls`'s field `name` (where options define their defaults, once;
    command lines show and use them)."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


class ConfigData:
    """Mixin for dataclass configs."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls: type[_C], d: dict[str, Any]) -> _C:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise CheckpointError(f"{cls.__name__}: unknown fields {unknown} (known: {sorted(names)}); "
                                  "a newer stylebridge may have written it")
        return cls(**d)
