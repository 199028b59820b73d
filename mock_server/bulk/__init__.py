"""The mock's ``/bulk`` endpoints: ``model`` (a job's record and status), ``store`` (the job
folders every worker shares), ``upload`` (receiving the archive), ``run`` (a job's thread),
``sender`` (each case handed to the operation in process) and ``blueprint`` (the views).
They run ``facematch_bulk``'s runner and write its archive."""
