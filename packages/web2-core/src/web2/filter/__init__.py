"""
Response filters: functions C{f(request, response) -> response | Deferred}
applied to responses after rendering (see L{web2.server.Request}).
"""
