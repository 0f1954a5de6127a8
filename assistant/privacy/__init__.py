"""Personal data: redaction, export and erasure, retention, consent, audit."""
