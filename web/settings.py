"""The settings and the scheduling policy the app factory built once, as request dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from scheduling.policy import Policy
from vreception.config import Settings


def app_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def app_policy(request: Request) -> Policy:
    """The app's scheduling policy (built from its settings in create_app)."""
    policy: Policy = request.app.state.policy
    return policy


def client_address(request: Request) -> str:
    """The caller's address, for counting failed lookups per client."""
    return request.client.host if request.client else "unknown"


AppSettings = Annotated[Settings, Depends(app_settings)]
AppPolicy = Annotated[Policy, Depends(app_policy)]
