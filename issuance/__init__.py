"""The CA's side: the signing service (its own process, issuance/signing_app.py), the signers (key
file, PKCS#11 token), the CA hierarchy and certificate profiles, the register, revocation, CRL
and OCSP; and the client through which the web app asks the signing service."""
