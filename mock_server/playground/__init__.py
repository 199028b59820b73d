"""The Playground: the operation and the bulk jobs in a browser page, served by the mock.

The page is plain HTML, CSS and JavaScript shipped as package data (no build step, no CDN);
``blueprint.py`` serves it with a strict Content-Security-Policy and hands it a small JSON
configuration built from the compiled contract and the server's settings.
"""
