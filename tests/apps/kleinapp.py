"""
A Klein application for tests/test_launch_klein.py, mounted with
C{--mount /k=twistedweb:kleinapp.resource} and nothing else of its own:
plain routes, URL building, a Deferred, a form, a session, a returned
twisted.web resource, a status of its own, an error handler and an
unhandled error.
"""

from klein import Klein
from twisted.internet import reactor, task
from twisted.web import static
from zope.interface import Attribute, Interface, implementer

app = Klein()


class ICounter(Interface):
    count = Attribute("requests seen in this session")


@implementer(ICounter)
class Counter:
    def __init__(self, session):
        self.count = 0


@app.route("/")
def index(request):
    return "klein index; hello is at " + app.url_for(request, "hello", {"name": "you"})


@app.route("/hello/<name>", endpoint="hello")
def hello(request, name):
    return f"Hello, {name}!"


@app.route("/later")
def later(request):
    return task.deferLater(reactor, 0.01, lambda: b"later " + request.uri)


@app.route("/form", methods=["POST"])
def form(request):
    name = request.args.get(b"name", [b"?"])[0].decode()
    colours = b",".join(request.args.get(b"colour", [])).decode()
    return f"name={name} colours={colours}"


@app.route("/count")
def count(request):
    session = request.getSession()
    counter = session.getComponent(ICounter)
    if counter is None:
        counter = Counter(session)
        session.setComponent(ICounter, counter)
    counter.count += 1
    return f"count={counter.count}"


@app.route("/data")
def data(request):
    return static.Data(b"a twisted.web resource", "text/plain")


@app.route("/teapot")
def teapot(request):
    request.setResponseCode(418)
    request.setHeader(b"x-klein", b"yes")
    return b"short and stout"


class Missing(Exception):
    pass


@app.route("/missing")
def missing(request):
    raise Missing()


@app.handle_errors(Missing)
def onMissing(request, failure):
    request.setResponseCode(404)
    return b"handled: missing"


@app.route("/boom")
def boom(request):
    raise RuntimeError("boom")


resource = app.resource
