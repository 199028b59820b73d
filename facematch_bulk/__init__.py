"""Bulk mode's client side: a ZIP of cases in, a results archive out, against any server.

``archive`` reads and checks input ZIPs and finds the cases; ``runner`` sends them through
a ``Sender`` (over HTTP to any implementation); ``results`` writes the output archive;
``cli`` is ``facematch bulk``. The mock's ``/bulk`` jobs (``mock_server.bulk``) run the same
runner and write the same archive; this package never imports the server.
"""
