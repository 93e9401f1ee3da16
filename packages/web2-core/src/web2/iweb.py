# -*- test-case-name: test_iweb -*-
"""
The interfaces of web2: what a resource, a request, a response, a byte stream
and a transport-level channel request promise each other.

Everything that crosses a layer boundary in web2 is described here, so that a
plugin author can provide any of these objects without importing the concrete
classes, and so that tests can check implementations with C{verifyObject}.
"""

from zope.interface import Attribute, Interface


class IResource(Interface):
    """
    An HTTP resource: one node of the URL tree.
    """

    def locateChild(request, segments):
        """
        Find the resource that handles the remaining path.

        @param request: the L{IRequest} being traversed.
        @param segments: a tuple of the remaining, already percent-decoded
            path segments (C{str}).
        @return: C{(resource, remainingSegments)}, or a Deferred or coroutine
            firing with it.  C{resource} may be C{None} (404).
            C{remainingSegments} may be L{web2.server.StopTraversal} to stop
            here, leaving the rest in C{request.postpath}.
        """

    def renderHTTP(request):
        """
        Produce the response to C{request}.

        @return: an L{IResponse}, an object adaptable to one (a status code,
            C{bytes}, C{str}), another L{IResource} to render in turn, or a
            Deferred or coroutine firing with one of those.
        """


class ISiteRoot(IResource):
    """
    A root resource that makes its site's requests itself: a whole
    application at a site's root that answers every request without
    traversal (web2-asgi's), given a request class that goes straight to
    it.  The site asks once per root (L{web2.server.Site}).
    """

    def requestFactory(site, rewrites=()):
        """
        The request factory of C{site} while this is its root.

        @param rewrites: callables each given every request once its URL
            and host are parsed, before it is answered, in order: what
            wrappers of this root do on their way down (the trusted-proxy
            rules, L{web2.proxy}).
        @return: a callable taking the arguments of L{web2.server.Site}'s
            own C{__call__} and returning a L{web2.server.Request} (which
            may still traverse from the site's root the ordinary way, for
            requests it does not answer directly), or C{None}: this site
            makes ordinary requests.
        """


class IResponse(Interface):
    """
    An HTTP response, independent of the transport that will carry it.
    """

    code = Attribute("The status code, an C{int}.")
    headers = Attribute("The L{web2.http_headers.Headers} of the response.")
    stream = Attribute(
        "The body, an L{IByteStream}, or C{None} for a response without one."
    )


class IRequest(Interface):
    """
    An HTTP request, as the framework sees it.
    """

    method = Attribute("The method, a C{str} such as C{'GET'}.")
    uri = Attribute("The request target exactly as sent, a C{str}.")
    clientproto = Attribute("The protocol version, a tuple such as C{(1, 1)}.")
    headers = Attribute(
        "The L{web2.http_headers.Headers} of the request, without the "
        "hop-by-hop headers that the channel consumed."
    )
    stream = Attribute(
        "The body, an L{IByteStream} whose C{length} is the declared "
        "Content-Length or C{None} for a chunked body."
    )
    chanRequest = Attribute("The L{IChanRequest} this request arrived on.")

    def writeResponse(response):
        """
        Send C{response}: headers first, then its stream, with backpressure.

        @return: a Deferred that fires when the whole body has been handed to
            the transport.
        """


class IChanRequestCallbacks(Interface):
    """
    What a request object offers to the channel that parsed it.
    """

    def process():
        """
        The request head is complete: start handling the request.  The body,
        if any, arrives afterwards through L{handleContentChunk}.
        """

    def handleContentChunk(data):
        """
        Another piece of the request body (C{bytes}) arrived.
        """

    def handleContentComplete(trailers=None):
        """
        The request body is complete.

        @param trailers: the trailer fields of a chunked body, as a list of
            C{(name, value)} pairs of C{bytes}, or C{None}.
        """

    def connectionLost(reason):
        """
        The connection went away before the response was finished.
        """


class IChanRequest(Interface):
    """
    What a channel offers to the request it carries: the way out to the wire.
    """

    persistent = Attribute(
        "Whether the connection may carry another request after this one. "
        "Setting it to C{False} before the headers are written adds "
        "C{Connection: close}."
    )

    continueExpected = Attribute(
        "Whether the client waits for a C{100 Continue} before it sends the "
        "body (an HTTP/1.1 C{Expect: 100-continue}).  Optional: a transport "
        "without interim responses leaves it out, which means C{False}."
    )

    def writeIntermediateResponse(code, headers=None):
        """
        Send a 1xx response (a no-op on transports that cannot).
        """

    def writeHeaders(code, headers):
        """
        Send the status line and headers of the final response.

        @param headers: a L{web2.http_headers.Headers}.  The channel adds the
            framing headers (Content-Length or Transfer-Encoding, Connection).
        """

    def write(data):
        """
        Send a piece of the response body.
        """

    def finish():
        """
        The response body is complete.
        """

    def abortConnection():
        """
        Drop the connection at once, e.g. after a failure mid-body.
        """

    def registerProducer(producer, streaming):
        """
        Register a producer of the response body, as
        L{twisted.internet.interfaces.IConsumer.registerProducer}.
        """

    def unregisterProducer():
        """
        Unregister the producer registered with L{registerProducer}.
        """

    def getHostInfo():
        """
        @return: C{(address, secure)}: the local L{IAddress} and whether the
            connection is encrypted.  Never does a DNS lookup.
        """

    def isSecure():
        """
        @return: whether the connection is encrypted; unlike
            L{getHostInfo}, answered without asking the operating system
            for the local address (every request needs this, few need that).
        """

    def getRemoteHost():
        """
        @return: the peer's L{IAddress}.
        """


class IStream(Interface):
    """
    A stream of arbitrary objects, read one at a time.
    """

    def read():
        """
        Read the next object.

        @return: the object, C{None} at the end of the stream, or a Deferred
            firing with one of those.  An error is raised or delivered as a
            failed Deferred.
        """

    def close():
        """
        Stop early: release resources; later reads return C{None}.
        """


class IByteStream(IStream):
    """
    A stream of C{bytes}.
    """

    length = Attribute(
        "How many bytes remain to be read, or C{None} if that is not known."
    )

    def read():
        """
        Read the next piece of bytes, C{None} at the end, or a Deferred of
        either.  Never returns an empty C{bytes}.
        """

    def split(point):
        """
        Split this stream in two at C{point} bytes from the current position.

        @return: a tuple of two new streams; this one must not be used
            afterwards.
        """


class ISite(Interface):
    """
    A marker for the site object that owns the root resource.
    """


class ICanHandleException(Interface):
    """
    Something that renders a failure of a request into a response.
    """

    def renderHTTP_exception(request, failure):
        """
        @return: an L{IResponse} (or a Deferred of one) for the failure.
        """


class IAccessLogFormatter(Interface):
    """
    A callable that turns one finished request into one access-log line.
    """

    def __call__(record):
        """
        @param record: a C{dict} of the fields of a C{web2.access} log event
            (C{client}, C{method}, C{uri}, C{protocol}, C{status}, C{bytes},
            C{duration}, C{referer}, C{user_agent}, C{timestamp}, ...).
        @return: the line, a C{str} without a trailing newline.
        """
