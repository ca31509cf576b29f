"""Hearings (信访听证): request and decision, chair and panel, notice, the clock, 回避, conclusion, publication."""
