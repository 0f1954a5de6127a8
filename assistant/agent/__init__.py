"""Dialogue agent: a LangGraph graph that classifies a shopper message, then routes it to an answer."""
