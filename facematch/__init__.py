"""The ``facematch`` command: one entry point over the mock, the kit and the bulk client."""
