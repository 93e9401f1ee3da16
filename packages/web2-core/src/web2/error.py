# -*- test-case-name: test_server -*-
"""
Error pages: the body given to an error or redirect response that has none.
A site may replace L{defaultErrorHandler} with its own
(C{Site(errorHandler=...)}).
"""

from __future__ import annotations

import html

from web2 import responsecode
from web2.http_headers import MimeType

#: Explanations per status code; C{{uri}}, C{{method}} and C{{location}}
#: are filled in HTML-escaped.
ERROR_MESSAGES = {
    301: 'The document has moved <a href="{location}">here</a>.',
    302: 'The document was found <a href="{location}">here</a>.',
    303: 'The results are available <a href="{location}">here</a>.',
    307: 'The document is temporarily <a href="{location}">here</a>.',
    308: 'The document has moved <a href="{location}">here</a>.',
    400: "The request could not be understood.",
    401: "You are not authorized to access {uri}.",
    403: "You do not have permission to access {uri}.",
    404: "The resource {uri} cannot be found.",
    405: "The method {method} is not allowed for {uri}.",
    406: "No representation of {uri} matches what the request accepts.",
    408: "The request took too long to arrive.",
    409: "The request conflicts with the current state of {uri}.",
    410: "The resource {uri} is gone.",
    411: "The request needs a Content-Length.",
    412: "A precondition of the request failed.",
    413: "The request body is too large.",
    414: "The request target is too long.",
    415: "The request body has a type this resource does not accept.",
    416: "The requested range cannot be satisfied.",
    417: "The expectation given in the request cannot be met.",
    429: "Too many requests; try again later.",
    431: "The request header fields are too large.",
    500: "The server met an error and could not complete the request.",
    501: "The method {method} is not implemented here.",
    502: "An upstream server sent an invalid response.",
    503: "The service is unavailable; try again later.",
    504: "An upstream server did not answer in time.",
    505: "This HTTP version is not supported.",
}

_HTML = MimeType("text", "html", {"charset": "utf-8"})


def defaultErrorHandler(request, response):
    """
    Give a response of status 300 or more without a body an HTML page
    explaining it.  Statuses without an explanation (304, for one) are left
    empty.
    """
    if response.stream is not None or response.code < 300:
        return response
    message = ERROR_MESSAGES.get(response.code)
    if message is None:
        return response
    location = response.headers.getRawHeaders("location", [""])[0]
    body = message.format(
        uri=html.escape(request.uri),
        method=html.escape(request.method),
        location=html.escape(location, quote=True),
    )
    phrase = html.escape(responsecode.reasonPhrase(response.code))
    page = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{response.code} {phrase}</title></head><body><h1>{phrase}</h1>"
        f"<p>{body}</p></body></html>\n"
    ).encode()
    from web2 import stream

    response.stream = stream.MemoryStream(page)
    response.headers.setHeader("content-type", _HTML)
    return response


defaultErrorHandler.handleErrors = True
