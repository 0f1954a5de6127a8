"""Intent understanding: a calibrated MiniLM-BERT classifier, its fallback policy and a micro-batching service."""
