"""Retrieval backends behind one interface (embedded now; Weaviate later)."""
