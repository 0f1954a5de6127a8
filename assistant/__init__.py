"""Shopassist chat server: dialogue agent, intent model, handoff, auth and admin API."""
