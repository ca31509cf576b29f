"""Pages: admin_org (being built)."""

from fastapi import APIRouter

router = APIRouter()
