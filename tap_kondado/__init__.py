"""tap-kondado: a Singer tap for Kondado's pipeline and model logs."""
