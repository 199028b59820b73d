"""``facematch proxy``: a validating proxy between an integrator's backend and the vendor.

The kit judges an implementation with requests it makes up; the proxy judges the answers
to the requests a real backend sends. It forwards every request byte for byte (Prism's
proxy re-encodes binary multipart and so breaks every photo), judges each answer of
``POST /advanced_facematch`` with the rule validator in :mod:`facematch_contract.rules`
(one implementation for the kit, the mock's strict mode and the proxy), names broken rules
in ``X-Contract-Violation`` without touching the body, keeps a running report, and can
record the vendor's answers as a cassette that ``facematch serve --replay`` answers from.

It depends on :mod:`facematch_contract` and the standard library only.
"""
