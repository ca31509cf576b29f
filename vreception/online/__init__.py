"""Requests from the petitioner online (网上信访): SMS codes, 复查/复核 requests, 网上预约 and online intake."""
