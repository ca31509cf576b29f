"""Scheduling endpoints: availability, sessions (book, cancel, reschedule, join), calendars."""

from fastapi import APIRouter

router = APIRouter(tags=["scheduling"])
