"""Gradient-check cases for attention, the transformer block, embeddings and the transformer model."""
