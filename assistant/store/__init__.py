"""The SQL store: ORM models, engines and sessions, schema upgrades."""
