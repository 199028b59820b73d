"""The mock's ``/bulk`` endpoints: ``jobs`` (the shared job store) and ``blueprint`` (the
views). They run ``facematch_bulk``'s runner and write its archive."""
