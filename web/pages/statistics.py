"""Pages: statistics (being built)."""

from fastapi import APIRouter

router = APIRouter()
