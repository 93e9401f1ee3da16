"""web2-static's plugin: what it contributes to the web2 plugin host."""
