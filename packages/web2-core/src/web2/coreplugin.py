"""web2-core's own built-in plugin."""
