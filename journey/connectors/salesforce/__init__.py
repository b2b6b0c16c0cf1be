"""Salesforce: the connector that speaks to an org through simple-salesforce, and the
emulated org (``journey.emulator``) it can speak to instead — locally, in
tests and in dry runs — over the very same HTTPS code path."""
