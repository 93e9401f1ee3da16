"""
The master of C{--workers} gives up once when its workers fail at start-up,
however many of them end in the same turn of the reactor (issue #19: seen
under load as a C{ReactorNotRunning} traceback from the second one).
"""

from twisted.internet import error
from twisted.internet.testing import MemoryReactorClock

from web2.workers import MasterService, _Worker


class _RealisticReactor(MemoryReactorClock):
    """
    Stops as a real reactor does: C{running} stays true until the shutdown
    runs, and a second C{stop()} raises.
    """

    def __init__(self):
        super().__init__()
        self.running = True
        self.stops = 0

    def stop(self):
        if self.stops:
            raise error.ReactorNotRunning("Can't stop reactor that isn't running.")
        self.stops += 1


def test_workersFailingTogetherStopTheReactorOnce():
    reactor = _RealisticReactor()
    master = MasterService(reactor, None, [], 2, [])
    workers = []
    for slot in range(2):
        worker = _Worker(master, slot, 0)
        worker.pid = 1000 + slot
        master.current[slot] = worker
        master._all.add(worker)
        workers.append(worker)
    for worker in workers:
        worker.ended = True
        master._workerEnded(worker, error.ProcessTerminated(exitCode=1))
    assert reactor.stops == 1
    assert master.exitStatus == 1
