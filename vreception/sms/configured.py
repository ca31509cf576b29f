"""The gateway the settings choose (none, SMPP or HTTPS JSON)."""

from __future__ import annotations

from vreception.config import InsecureConfiguration
from vreception.sms.gateways import Gateway, HttpGateway
from vreception.sms.settings import SmsSettings
from vreception.sms.smpp import SmppGateway


def gateway_from(settings: SmsSettings, *, production: bool = False) -> Gateway | None:
    """The configured gateway, or None (messages stay queued); a production gateway must have its secret."""
    if settings.gateway == "none":
        return None
    if settings.gateway == "http":
        if production and not settings.http_token:
            raise InsecureConfiguration("VRECEPTION_SMS_HTTP_TOKEN must be set for the HTTP SMS gateway")
        return HttpGateway(settings.http_url, settings.http_token, settings.http_timeout_seconds)
    if production and not settings.smpp_password:
        raise InsecureConfiguration("VRECEPTION_SMS_SMPP_PASSWORD must be set for the SMPP gateway")
    return SmppGateway(host=settings.smpp_host, port=settings.smpp_port, system_id=settings.smpp_system_id,
                       password=settings.smpp_password, system_type=settings.smpp_system_type,
                       source_addr=settings.smpp_source_addr, timeout=settings.smpp_timeout_seconds)
