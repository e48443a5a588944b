"""The customer's own pages: where their case stands (a signed link in every message they get)
and, for everyone, the channels, hours and response times the policy promises."""
