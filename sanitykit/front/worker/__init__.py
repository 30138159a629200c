"""The supervised worker: student code of `check`, `sk.check` and the plugin runs in a child process.

The parent keeps the report and the clock; the child loads the target (from a private copy
of the tree) and runs one check per request. A check that overruns its time limit or a
child that dies costs that one check: the parent kills the child's process group, records
why, and starts a fresh child for the next check.

    private_copy.py   the copy of the tree student code runs against, and paths mapped back
    channel.py        JSON messages, one per line, over a pair of pipes
    traces.py         where the child was when it was stopped or crashed (faulthandler dumps)
    process.py        one child: started, asked with a deadline, located, killed (parent side)
    session.py        WorkerSession: CheckSession's interface over restartable children
    child.py          what runs in the child: limits, load, serve requests
"""
