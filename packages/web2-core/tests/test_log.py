"""
Tests for L{web2.log}: access-log formatters on fabricated events, and the
observer and service that write them to a file.
"""

import calendar
import json

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.logger import ILogObserver, LogPublisher
from zope.interface.verify import verifyObject

from web2.iweb import IAccessLogFormatter
from web2.log import (
    FORMATTERS,
    AccessLogObserver,
    AccessLogService,
    combinedLogFormatter,
    commonLogFormatter,
    jsonLogFormatter,
)

STAMP = calendar.timegm((2024, 2, 29, 13, 5, 9)) + 0.25


def _event(**fields):
    event = dict(log_namespace="web2.access", client="127.0.0.1", method="GET",
                 uri="/index.html?q=1", protocol="HTTP/1.1", status=200, bytes=1234,
                 duration=0.0125, referer="http://ref.example/", user_agent="curl/8.0",
                 timestamp=STAMP, host="example.com")
    event.update(fields)
    return event


def test_common():
    assert commonLogFormatter(_event()) == (
        '127.0.0.1 - - [29/Feb/2024:13:05:09 +0000] "GET /index.html?q=1 HTTP/1.1" '
        '200 1234')


def test_combined():
    assert combinedLogFormatter(_event()) == (
        '127.0.0.1 - - [29/Feb/2024:13:05:09 +0000] "GET /index.html?q=1 HTTP/1.1" '
        '200 1234 "http://ref.example/" "curl/8.0"')


def test_missingFields():
    """
    Absent or empty values are written as C{-}, as Apache does; no body is
    C{-} bytes.
    """
    line = combinedLogFormatter(_event(referer=None, user_agent="", bytes=0))
    assert line.endswith('200 - "-" "-"')


def test_escaping():
    """
    Quotes, backslashes and control characters cannot forge or split a
    line.
    """
    line = combinedLogFormatter(_event(
        uri='/a"b\\c\r\nX', user_agent='evil" "agent\x1b[31m', referer="\x00"))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert '"GET /a\\"b\\\\c\\r\\nX HTTP/1.1"' in line
    assert line.endswith('"\\x00" "evil\\" \\"agent\\x1b[31m"')


def test_addresses():
    """
    The client may be an address object; IPv6 is written as is.
    """
    assert combinedLogFormatter(_event(client=IPv6Address("TCP", "::1", 5))).startswith(
        "::1 - - [")
    assert commonLogFormatter(_event(client=IPv4Address("TCP", "10.0.0.1", 5))).startswith(
        "10.0.0.1 - - [")
    assert json.loads(jsonLogFormatter(_event(client=IPv6Address("TCP", "fe80::1", 5))))[
        "client"] == "fe80::1"


def test_protocolTuple():
    assert '"GET / HTTP/1.0"' in commonLogFormatter(_event(uri="/", protocol=(1, 0)))


def test_json():
    record = json.loads(jsonLogFormatter(_event(user_agent="caf\xe9 \u2603\n")))
    assert record == {
        "time": "2024-02-29T13:05:09.250Z", "client": "127.0.0.1", "method": "GET",
        "uri": "/index.html?q=1", "protocol": "HTTP/1.1", "status": 200, "bytes": 1234,
        "duration": 0.0125, "referer": "http://ref.example/",
        "user_agent": "caf\xe9 \u2603\n", "host": "example.com"}
    line = jsonLogFormatter(_event(user_agent="caf\xe9\n"))
    assert line.isascii() and "\n" not in line


@pytest.mark.parametrize("name", sorted(FORMATTERS))
def test_formattersProvideInterface(name):
    assert verifyObject(IAccessLogFormatter, FORMATTERS[name])


def test_observerFilters(tmp_path):
    """
    The observer writes the access events, one line each, and ignores every
    other event.
    """
    path = tmp_path / "access.log"
    with open(path, "w") as f:
        observer = AccessLogObserver(f, commonLogFormatter)
        observer(_event())
        observer({"log_namespace": "web2.server", "log_format": "something else"})
        observer(_event(status=404, uri="/missing"))
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert lines[1].endswith('"GET /missing HTTP/1.1" 404 1234')


def test_service(tmp_path):
    """
    The service appends to its file while it runs, and lets go of it when
    stopped.
    """
    path = tmp_path / "access.log"
    path.write_text("old line\n")
    publisher = LogPublisher()
    service = AccessLogService(str(path), jsonLogFormatter, publisher=publisher)
    service.startService()
    publisher(_event(status=201))
    publisher({"log_namespace": "other"})
    service.stopService()
    publisher(_event(status=202))
    lines = path.read_text().splitlines()
    assert lines[0] == "old line" and len(lines) == 2
    assert json.loads(lines[1])["status"] == 201


def test_serviceStdout(capsys):
    publisher = LogPublisher()
    service = AccessLogService("-", commonLogFormatter, publisher=publisher)
    service.startService()
    publisher(_event())
    service.stopService()
    assert capsys.readouterr().out.endswith('HTTP/1.1" 200 1234\n')


def test_serviceIsTheObserver(tmp_path):
    """
    The service is the observer a Site is given: it writes while running
    and drops events while stopped.
    """
    path = tmp_path / "access.log"
    service = AccessLogService(str(path))
    assert verifyObject(ILogObserver, service)
    service(_event(status=100))
    service.startService()
    service(_event(status=201))
    service.stopService()
    service(_event(status=202))
    [line] = path.read_text().splitlines()
    assert '" 201 1234 "' in line
