"""The public JSON API under /api/v1 (see shared API.md)."""

from fastapi import APIRouter

from web.api import (
    accounts,
    audit,
    auth,
    exports,
    hearings,
    home_join,
    integration,
    matter_files,
    matters,
    network,
    online,
    org,
    public,
    recordings,
    records,
    scheduling,
    stats,
    tasks,
)
from web.openapi import responses

router = APIRouter(prefix="/api/v1")
# Every route behind a bearer token answers 401 without one and 403 outside the caller's role or subtree.
SIGNED_IN = responses(401, 403)
for signed_in in (auth, org, accounts, scheduling, exports, matters, matter_files, tasks, stats, audit, network,
                  recordings, records, hearings, home_join, integration, online):
    router.include_router(signed_in.router, responses=SIGNED_IN)
router.include_router(public.router)
router.include_router(hearings.public_router)
for public_side in (online, home_join, integration):
    router.include_router(public_side.public_router)
