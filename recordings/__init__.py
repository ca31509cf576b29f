"""The media side: the SFU hub (sfu), its tracks (forwarding), the packet path (rtp), aiortc hooks (aiortc_hooks)."""
