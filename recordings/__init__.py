"""The media side: the SFU hub (sfu), encoded forwarding (forwarding), aiortc passthrough hooks (passthrough), ICE setup (ice)."""
