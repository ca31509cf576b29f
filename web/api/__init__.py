"""The public JSON API under /api/v1 (see shared API.md)."""

from fastapi import APIRouter

from web.api import auth, org, scheduling

router = APIRouter(prefix="/api/v1")
router.include_router(auth.router)
router.include_router(org.router)
router.include_router(scheduling.router)
