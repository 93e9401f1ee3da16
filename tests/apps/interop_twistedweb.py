"""
A plain twisted.web resource for the interoperability matrix
(tests/test_interop_*.py), mounted through web2-compat with C{--mount
/tw=twistedweb:interop_twistedweb.resource}: a GET answered later, in
pieces (C{NOT_DONE_YET}), and a POST whose form and body it reads.
"""

from twisted.internet import reactor
from twisted.web import resource, server


class Later(resource.Resource):
    """
    C{GET}: three lines written on three turns of the reactor, then the end;
    C{POST}: the form fields twisted.web parsed and the body's length.
    """

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        request.setHeader(b"x-twisted-web", b"later")
        lines = [b"first %s\n" % request.path, b"second\n", b"third\n"]

        def step():
            if request.finished or not lines:
                return
            request.write(lines.pop(0))
            if lines:
                reactor.callLater(0.01, step)
            else:
                request.finish()

        reactor.callLater(0.01, step)
        return server.NOT_DONE_YET

    def render_POST(self, request):
        request.setHeader(b"content-type", b"text/plain")
        fields = sorted((k.decode(), b",".join(v).decode()) for k, v in request.args.items())
        request.content.seek(0)
        length = len(request.content.read())
        return f"fields={fields} length={length}".encode()


resource = Later()
