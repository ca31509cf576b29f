"""The public JSON API under /api/v1 (see shared API.md)."""

from fastapi import APIRouter

from web.api import auth, matters, org, public, recordings, records, scheduling, stats, tasks

router = APIRouter(prefix="/api/v1")
router.include_router(auth.router)
router.include_router(org.router)
router.include_router(scheduling.router)
router.include_router(matters.router)
router.include_router(tasks.router)
router.include_router(public.router)
router.include_router(stats.router)
router.include_router(recordings.router)
router.include_router(records.router)
