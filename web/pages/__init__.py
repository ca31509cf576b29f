"""Server-rendered pages."""

from fastapi import APIRouter

from web.pages import auth, calls, home, plans

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(home.router)
router.include_router(plans.router)
router.include_router(calls.router)
