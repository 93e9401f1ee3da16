"""web2-wsgi's plugin: what it contributes to the web2 plugin host."""
