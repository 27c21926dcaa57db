"""Retrieval backends behind one interface: embedded (default) and Weaviate (`WEAVIATE_URL`)."""
