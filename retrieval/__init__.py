"""Retrieval: local MiniLM embeddings, Chroma collections for FAQ and products, indexing and search."""
