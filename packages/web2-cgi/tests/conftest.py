"""
Test configuration of web2-cgi: make the helper module beside the tests
importable (pytest runs with --import-mode=importlib, which does not).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
