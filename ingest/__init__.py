"""The knowledge library: schema, loading and validation, chunking, embeddings and the Chroma index."""
