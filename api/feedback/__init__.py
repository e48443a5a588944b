"""The customer feedback domain: router.py (the form and the JSON answer, thin), service.py
(verifying a link, recording the answer), schemas.py."""
