"""The scenarios of the dispatch benchmark (``bench/dispatch.py``), one module each.

``common`` holds what they share (sizes, the no-op job, seeding through the repositories, timing helpers);
``lag``, ``burst``, ``passes`` and ``startup`` each measure jobgate and, where it applies, a bare APScheduler;
``report`` turns their figures into the table. Every scenario runs in a fresh process of ``bench/dispatch.py``.
"""
