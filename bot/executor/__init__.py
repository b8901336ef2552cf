"""The execution plane: where job code runs, away from the process that answers Slack and the API.

- ``orders``: the run order (what to run, as whom, within which limits) and the run report (how it ended).
- ``execution``: running one job in the current process, and the soft time limit's signal.
- ``worker`` and ``pool``: the local executor, worker processes that ``jobgate serve`` supervises.
- ``celery``: the Celery executor, ``jobgate worker`` processes fed through a broker.

Kept empty on purpose: worker processes import ``bot.executor.worker`` and must not pay for the rest.
"""
