"""Channel-agnostic conversation core: incoming messages in, replies out."""
