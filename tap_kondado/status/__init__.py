"""The status streams: one request per pipeline or model id the logs named, and the ids remembered in state."""
