"""When each node's number was set, to detect graphs gone stale.

Every node gets a tick when it is created and again whenever its ``data`` is
assigned.  A node with a smaller tick than one of its parents was computed
from an older value of that parent.  Checking that is only needed for nodes
created before the latest assignment anywhere, which is rare in a training
loop (parameters are updated after backward, then a new graph is built).
"""

import itertools

#: The ticks; ``next(counter)`` is a tick (builders call it so: a C call, no method wrapper).
counter = itertools.count()
tick = counter.__next__

#: The tick of the most recent assignment to any node's ``data``.
last_assignment = -1
