"""Pages: admin_people (being built)."""

from fastapi import APIRouter

router = APIRouter()
