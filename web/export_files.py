"""An export as a download: its type and a Content-Disposition that carries a Chinese file name (RFC 5987)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from vreception.cases.matter_export import ExportFile


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback name and the real one as filename* (UTF-8, percent-encoded)."""
    suffix = filename.rpartition(".")[2]
    return f"attachment; filename=\"export.{suffix}\"; filename*=UTF-8''{quote(filename, safe='')}"


def export_response(export: ExportFile) -> Response:
    """The export's bytes as an attachment, never sniffed, with its row count in a header."""
    return Response(export.content, media_type=export.media_type, headers={
        "Content-Disposition": content_disposition(export.filename), "X-Content-Type-Options": "nosniff",
        "X-Export-Rows": str(export.rows), "Cache-Control": "no-store"})
