"""
Test configuration of web2-asgi: make the helper modules beside the tests
importable (pytest runs with --import-mode=importlib, which does not), and
run every test on the asyncio reactor, as C{python -m web2} runs ASGI sites
(installed before anything imports the global reactor).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

if "twisted.internet.reactor" not in sys.modules:
    from twisted.internet import asyncioreactor

    asyncioreactor.install()
