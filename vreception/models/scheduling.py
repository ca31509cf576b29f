"""Reception plans, room hours, booked sessions, their participants and resource claims."""
