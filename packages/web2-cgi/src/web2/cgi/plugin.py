"""web2-cgi's plugin: what it contributes to the web2 plugin host."""
