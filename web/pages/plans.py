"""Pages of reception plans and booking."""

from fastapi import APIRouter

router = APIRouter()
