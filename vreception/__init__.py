"""vreception core: configuration, database, tables, domain services, app factory and CLI."""

__version__ = "0.1.0"
