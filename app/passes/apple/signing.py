"""The ``signature`` file of a .pkpass: a detached CMS signature over manifest.json."""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from app.passes.apple.certs import SigningIdentity

# Binary: sign the bytes as they are. Without it the manifest's newlines are
# canonicalised to CRLF before hashing and Wallet rejects the signature.
_OPTIONS = (pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary)


class PassSigner(Protocol):
    # Names the certificate: a pass signed ahead with another one is not served.
    fingerprint: str

    def sign(self, manifest: bytes) -> bytes:
        """Detached DER CMS signature of the manifest bytes."""
        ...


class CmsPassSigner:
    """Signs with the Pass Type ID key: SHA-256, signingTime, WWDR intermediate embedded.

    The signer (certificate, key, digest) is validated and attached once; builders
    are immutable, so one CmsPassSigner can serve every thread.
    """

    def __init__(self, identity: SigningIdentity) -> None:
        self.identity = identity
        self._wwdr = identity.wwdr
        self.fingerprint = identity.certificate.fingerprint(hashes.SHA256()).hex()[:32]
        self._builder = pkcs7.PKCS7SignatureBuilder().add_signer(
            identity.certificate, identity.private_key, hashes.SHA256()
        )

    def sign(self, manifest: bytes) -> bytes:
        # The certificate is added after set_data on purpose: in cryptography 50,
        # set_data() returns a builder that keeps the signers but silently drops
        # certificates added with add_certificate() before it.
        builder = self._builder.set_data(manifest).add_certificate(self._wwdr)
        return builder.sign(Encoding.DER, _OPTIONS)
