"""
Helpers for the tests that start a real web2 server in a subprocess (the
repository's cross tests in C{tests/} import this module).  They live in
the public L{web2.testing}; this module keeps the names those tests use.
"""

from web2 import testing

Server = testing.ServerProcess
Result = testing.ProcessResult
assertNoTraceback = testing.assertNoTraceback
assertStoppedCleanly = testing.assertStoppedCleanly
fetch = testing.fetch
fetchUnix = testing.fetchUnix
freePort = testing.freePort
pythonWeb2 = testing.pythonWeb2
runToEnd = testing.runToEnd
twistdCommand = testing.twistdCommand
twistdWeb2 = testing.twistdWeb2
