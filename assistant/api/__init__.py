"""HTTP routes by domain: shopper sessions, agent console, admin."""
