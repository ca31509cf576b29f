"""The integration feed for a provincial 信访信息系统: disclosed changes of matters, pulled by cursor.

Kept import-light: the services import `vreception.integration.record` to write the feed."""
