"""The scheduling policy is built once, from the app's settings, and is what the pages use."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from vreception.app import create_app


def test_the_factory_builds_the_policy_from_its_settings(settings, db):
    app = create_app(settings.model_copy(update={"booking_cutoff_hour": 12, "booking_cutoff_days_before": 2}), db)
    assert (app.state.policy.cutoff_hour, app.state.policy.cutoff_days_before) == (12, 2)


def test_the_pages_use_the_injected_policy(app, org):
    app.state.policy = replace(app.state.policy, cutoff_hour=12, cutoff_days_before=2)
    with TestClient(app) as client:
        page = client.get(f"/plans/{org.nodes['county'].id}?lang=en")
    assert page.status_code == 200 and "Book 2 day(s) ahead, by 12:00" in page.text
