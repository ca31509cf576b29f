"""Requests from the petitioner online (issue 14): SMS codes, 复查/复核, 网上预约, 网上信访."""
