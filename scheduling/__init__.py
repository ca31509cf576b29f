"""Reception plans, availability, conflict-free booking, reminders and calendar feeds (领导接访排期)."""
