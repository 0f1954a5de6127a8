"""Recommender: behaviour collaborative filtering fused with item text embeddings, over the SQL store."""
