"""
C{python -m web2} takes what start-up made out of the cyclic garbage
collector's sight before it serves (C{gc.freeze}), and raises the young
generation's threshold above what a busy turn of the loop keeps alive.
"""

from _launch_helpers import Server, fetch, pythonWeb2

SITE = '''
import gc

from web2 import http, resource

class Root(resource.Resource):
    def render(self, request):
        return http.Response(200, {}, "frozen %d young %d" % (
            gc.get_freeze_count(), gc.get_threshold()[0]))
'''


def test_startupHeapIsFrozen(tmp_path):
    """
    The objects of start-up (the site's module among them) are in the
    permanent generation once the server answers.
    """
    (tmp_path / "heapsite.py").write_text(SITE)
    with Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1", "--python-path",
                           str(tmp_path), "--mount", "/=class:heapsite.Root")) as server:
        status, _, body = fetch(server.port, "/")
        server.stop()
    assert status == 200
    frozen, young = int(body.split()[1]), int(body.split()[3])
    # Twisted, web2 and the site's module are thousands of objects.
    assert frozen > 10000, body
    # Python's default is 700: 64 connections' requests in flight (some
    # 25 objects each) passed it on every turn of the loop.
    assert young >= 10000, body
