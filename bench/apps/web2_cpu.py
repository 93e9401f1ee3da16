"""
The web2 resource of the C{workers-*} scenarios' C{cpu} role: each request
spends about a millisecond of CPU in the application (a busy loop on the
thread's own CPU clock, so the cost is CPU time whatever else runs on the
machine), then answers the 14-byte hello.  An application that works, so
that the load generator's share of the two cores stays small and what
C{--workers 2} gives over one worker can be seen.
"""

import time

from web2 import http, http_headers, resource

_BODY = b"Hello, world!\n"
#: CPU seconds each request spends.
COST = 0.001


class Burn(resource.Resource):
    """
    Hello, world, after a millisecond of CPU.
    """

    addSlash = False

    def render(self, request):
        clock = time.thread_time
        end = clock() + COST
        while clock() < end:
            pass
        headers = http_headers.Headers()
        headers.setRawHeaders("content-type", ["text/plain"])
        return http.Response(200, headers, _BODY)
