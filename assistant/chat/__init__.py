"""Shopper chat: wire protocol, conversation store, message bus and the websocket endpoint."""
