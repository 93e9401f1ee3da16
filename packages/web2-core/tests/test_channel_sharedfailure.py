"""
The failure a channel hands to every plain TCP connection it closes itself
(L{web2.channel.http._CONNECTION_DONE}) answers C{check} as any Failure of
C{ConnectionDone} does, by class or by name.
"""

from twisted.internet import error
from twisted.python.failure import Failure

from web2.channel.http import _CONNECTION_DONE


def test_isAConnectionDoneFailure():
    assert isinstance(_CONNECTION_DONE, Failure)
    assert _CONNECTION_DONE.type is error.ConnectionDone


def test_checkByClassAsFailureDoes():
    plain = Failure(error.ConnectionDone())
    for asked in [
        (error.ConnectionAborted,),
        (error.ConnectionDone,),
        (error.ConnectionClosed,),
        (Exception,),
        (error.ConnectionLost, error.ConnectionDone),
        (error.ConnectionAborted, error.ConnectionLost),
        (KeyError, ValueError),
        (),
    ]:
        assert _CONNECTION_DONE.check(*asked) is plain.check(*asked), asked


def test_checkByName():
    name = "twisted.internet.error.ConnectionDone"
    assert _CONNECTION_DONE.check(name) == name
    assert _CONNECTION_DONE.check("twisted.internet.error.ConnectionAborted") is None
    assert _CONNECTION_DONE.check(KeyError, name) == name
