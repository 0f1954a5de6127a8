"""Tests of human handoff and the agent console: auth, claim race, live handoff, triggers, browser."""
