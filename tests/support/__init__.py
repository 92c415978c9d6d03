"""Shared test helpers: fixture distributions (`packages`) and a loopback index (`index_server`)."""
