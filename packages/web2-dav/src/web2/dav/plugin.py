"""web2-dav's plugin: what it contributes to the web2 plugin host."""
