"""The project's segments (``[segments]`` in ``journey.toml``) parsed with the language's own
condition parser, apart from the project's store and runner: a dry run needs them and no
database layer, nor, for a project ``engine.config_view`` reads, the configuration's models
(``engine.project`` re-exports ``segments_of``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from journey.dsl.syntax import Condition
    from journey.engine.config import ProjectConfig

__all__ = ["segments_of"]


def segments_of(config: ProjectConfig) -> dict[str, Condition]:
    """The ``[segments]`` conditions, parsed; a bad one names the segment. The language's
    parser is loaded only for a project that has segments."""
    if not config.segments:
        return {}
    from journey.dsl import JourneyError, parse_condition

    parsed: dict[str, Condition] = {}
    for name, text in config.segments.items():
        try:
            parsed[name] = parse_condition(text, origin=f'journey.toml [segments] "{name}"')
        except JourneyError as exc:
            first = exc.diagnostics[0] if exc.diagnostics else None
            detail = first.message if first else str(exc)
            from journey.engine.config import ConfigError

            raise ConfigError(
                f'{config.root / "journey.toml"}: [segments] "{name}": {detail}'
            ) from None
    return parsed
