"""Server-rendered pages."""

from fastapi import APIRouter

from web.pages import (
                       admin_audit,
                       admin_org,
                       admin_people,
                       agenda,
                       auth,
                       booking,
                       calls,
                       dashboard,
                       evidence,
                       gallery,
                       hearing_call,
                       hearing_member,
                       hearings,
                       home,
                       home_join,
                       kiosk,
                       leader_plans,
                       lookup,
                       matters,
                       network,
                       online,
                       plans,
                       receipts,
                       records,
                       statistics,
                       tasks,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(home.router)
router.include_router(plans.router)
router.include_router(calls.router)
router.include_router(evidence.router)
router.include_router(dashboard.router)
router.include_router(matters.router)
router.include_router(booking.router)
router.include_router(tasks.router)
router.include_router(agenda.router)
router.include_router(kiosk.router)
router.include_router(lookup.router)
router.include_router(leader_plans.router)
router.include_router(records.router)
router.include_router(hearing_member.router)
router.include_router(hearings.router)
router.include_router(gallery.router)
router.include_router(hearing_call.router)
for back_office in (admin_org, admin_people, admin_audit, statistics, network):
    router.include_router(back_office.router)
router.include_router(receipts.router)  # the SMS slice's paper (登记回执, 预约接访通知书)
router.include_router(online.router)  # 网上信访: requests from the petitioner (issue 14)
router.include_router(home_join.router)  # 手机视频接访: joining from home (issue 14)
