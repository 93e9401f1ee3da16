"""web2-compat's plugin: what it contributes to the web2 plugin host."""
