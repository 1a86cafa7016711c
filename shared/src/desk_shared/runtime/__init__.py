"""The runtime every service runs on: bus connection, streams, publishing, durable consumers,
tracked positions, the ordered log reader and process plumbing."""
