"""Bulk mode: a ZIP of cases in, a results archive out.

``archive`` reads and checks input ZIPs and finds the cases; ``runner`` sends them (any
implementation, over HTTP); ``results`` writes the output archive; ``cli`` is
``facematch bulk``; ``jobs`` and ``blueprint`` are the mock's ``/bulk`` endpoints, which run
the same runner and write the same archive.
"""
