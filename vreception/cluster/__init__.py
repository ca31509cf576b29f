"""Past one machine: media workers announce themselves in Redis, sessions are placed on them, fronts relay to them."""
