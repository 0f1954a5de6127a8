"""Human handoff: the queue of waiting sessions, agents claiming them, the agent socket and console views."""
