# -*- test-case-name: test_gzip -*-
"""
The Location header of a 201 (Created) response, added by a filter so that
the resource that created something only has to say where.
"""

from __future__ import annotations


def addLocation(request, location: str):
    """
    Arrange for a 201 response to C{request} to carry C{Location:
    location} (made absolute on this server if it is a path).
    """

    def locationFilter(request, response):
        if response.code == 201 and not response.headers.hasHeader("location"):
            url = location
            if url.startswith("/"):
                url = request.unparseURL(path=url, querystring="")
            response.headers.setRawHeaders("location", [url])
        return response

    request.addResponseFilter(locationFilter, atEnd=True)
