"""Pass Type ID signing identities: load them, check them, generate a dev chain.

A real identity is Apple's Pass Type ID certificate (leaf + private key, usually a
Keychain ``.p12``) plus the Apple WWDR G4 intermediate that Wallet expects embedded
in every signature. ``generate_dev_chain`` builds a look-alike chain for development.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeAlias, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

SigningKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

PASS_EKU = ObjectIdentifier("1.2.840.113635.100.4.14")
PASS_TYPE_ID_EXT = ObjectIdentifier("1.2.840.113635.100.6.1.16")
WWDR_G4_SERIAL = 0x13DC77955271E53DC632E8CCFFE521F3CCC5CED2
EXPIRY_WARNING_DAYS = 30
_DAY = timedelta(days=1)


class CertificateError(ValueError):
    """A certificate, key or WWDR file is missing, unreadable or does not fit."""


def _attr(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


# Every certificate of a generated development chain carries this organisation.
DEV_ORGANIZATION = "walletpass dev"


@dataclass(frozen=True)
class SigningIdentity:
    certificate: x509.Certificate
    private_key: SigningKey
    wwdr: x509.Certificate

    @property
    def pass_type_id(self) -> str | None:
        return _attr(self.certificate.subject, NameOID.USER_ID)

    @property
    def team_id(self) -> str | None:
        return _attr(self.certificate.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)

    @property
    def is_development(self) -> bool:
        """Signed by a chain from ``generate_dev_chain``: no iPhone accepts its passes."""
        return any(
            _attr(name, NameOID.ORGANIZATION_NAME) == DEV_ORGANIZATION
            for name in (self.certificate.issuer, self.wwdr.subject)
        )


@dataclass(frozen=True)
class DevChain:
    root_cert: Path
    wwdr_cert: Path
    pass_cert: Path
    pass_key: Path
    pass_p12: Path


@dataclass(frozen=True)
class CertReport:
    ok: bool
    lines: list[str]
    warnings: list[str]
    errors: list[str]
    days_left: int  # of the Pass Type ID certificate
    wwdr_days_left: int  # of the WWDR intermediate


_E = TypeVar("_E", bound=x509.ExtensionType)


def _ext(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")


# --- dev chain ---------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # also when the file already existed
        fh.write(data)


def _issue(
    attrs: list[tuple[ObjectIdentifier, str]],
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    start: datetime,
    days: int,
    *,
    ca: bool,
    path_length: int | None = None,
    extra: tuple[x509.ExtensionType, ...] = (),
) -> x509.Certificate:
    subject = x509.Name(
        [x509.NameAttribute(oid, value) for oid, value in attrs]
        + [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    usage = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"),
        False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + days * _DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
                **usage,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    for ext in extra:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def generate_dev_chain(
    out_dir: Path,
    pass_type_id: str,
    team_id: str,
    *,
    now: datetime,
    p12_password: bytes | None = None,
    key_size: int = 2048,
) -> DevChain:
    """Write a root CA, a WWDR look-alike and a Pass Type ID leaf (one year) to out_dir."""
    _require_aware(now)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    root_key, wwdr_key, pass_key = (rsa.generate_private_key(65537, key_size) for _ in range(3))
    cn, ou = NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME
    root = _issue([(cn, "walletpass Dev Root CA")], root_key, None, now, 3650, ca=True)
    wwdr_attrs = [(cn, "walletpass Dev WWDR Intermediate"), (ou, "G4")]
    wwdr = _issue(wwdr_attrs, wwdr_key, (root, root_key), now, 1825, ca=True, path_length=0)
    extra: tuple[x509.ExtensionType, ...] = (
        x509.ExtendedKeyUsage([PASS_EKU, ExtendedKeyUsageOID.CLIENT_AUTH]),
    )
    utf8 = pass_type_id.encode()
    if len(utf8) < 128:  # Apple's pass type id extension; a DER UTF8String is close enough
        extra += (x509.UnrecognizedExtension(PASS_TYPE_ID_EXT, bytes([0x0C, len(utf8)]) + utf8),)
    leaf_attrs = [(NameOID.USER_ID, pass_type_id), (cn, f"Pass Type ID: {pass_type_id}")]
    leaf_attrs.append((ou, team_id))
    leaf = _issue(leaf_attrs, pass_key, (wwdr, wwdr_key), now, 365, ca=False, extra=extra)

    chain = DevChain(
        *(out_dir / n for n in ("root.pem", "wwdr.pem", "pass.pem", "pass-key.pem", "pass.p12"))
    )
    pem = serialization.Encoding.PEM
    chain.root_cert.write_bytes(root.public_bytes(pem))
    chain.wwdr_cert.write_bytes(wwdr.public_bytes(pem))
    chain.pass_cert.write_bytes(leaf.public_bytes(pem))
    no_encryption = serialization.NoEncryption()
    pkcs8 = serialization.PrivateFormat.PKCS8
    _write_private(chain.pass_key, pass_key.private_bytes(pem, pkcs8, no_encryption))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(p12_password) if p12_password else no_encryption
    )
    name = f"Pass Type ID: {pass_type_id}".encode()
    p12 = pkcs12.serialize_key_and_certificates(name, pass_key, leaf, [wwdr], encryption)
    _write_private(chain.pass_p12, p12)
    return chain


# --- loading -------------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise CertificateError(f"{path}: cannot read {what} file ({exc.strerror})") from None


def _load_cert(path: Path, what: str) -> x509.Certificate:
    data = _read(path, what)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(f"{path}: not a PEM or DER {what}") from None


def _narrow(key: object, path: Path) -> SigningKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise CertificateError(f"{path}: unsupported key type {type(key).__name__} (need RSA or EC)")


def _load_key(path: Path, password: str | None) -> SigningKey:
    data = _read(path, "private key")
    loader = (
        serialization.load_pem_private_key
        if b"-----BEGIN" in data
        else serialization.load_der_private_key
    )
    secret = password.encode() if password else None
    unreadable = f"{path}: cannot read the private key (wrong password or not a PEM/DER key)"
    try:
        key = loader(data, secret)
    except TypeError:  # encrypted without a password, or a password for a plain key
        if secret is None:
            raise CertificateError(
                f"{path}: the private key is encrypted; set WALLETPASS_APPLE_CERT_PASSWORD"
            ) from None
        try:
            key = loader(data, None)
        except ValueError:
            raise CertificateError(unreadable) from None
    except ValueError:
        raise CertificateError(unreadable) from None
    return _narrow(key, path)


def _load_p12(path: Path, password: str | None) -> tuple[x509.Certificate, SigningKey | None]:
    data = _read(path, "PKCS#12")
    # Keychain exports with an empty password; an unencrypted file rejects any password.
    attempts = [password.encode() if password else b"", None]
    for secret in attempts:
        try:
            key, cert, _extra = pkcs12.load_key_and_certificates(data, secret)
            break
        except ValueError:
            continue
    else:
        raise CertificateError(
            f"{path}: cannot open the PKCS#12 file: wrong password "
            "(WALLETPASS_APPLE_CERT_PASSWORD) or not a .p12 file"
        )
    if cert is None:
        raise CertificateError(f"{path}: the PKCS#12 file holds no certificate")
    return cert, None if key is None else _narrow(key, path)


def _public_der(key: SigningKey | x509.Certificate) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signing_identity(
    cert_file: Path, *, key_file: Path | None, password: str | None, wwdr_file: Path
) -> SigningIdentity:
    """Load a .p12/.pfx, or a PEM/DER certificate plus key file, and the WWDR intermediate.

    ``password`` opens the .p12 or an encrypted key. Without ``key_file`` a PEM
    certificate file must also hold the key.
    """
    key: SigningKey | None = None
    if cert_file.suffix.lower() in (".p12", ".pfx"):
        cert, key = _load_p12(cert_file, password)
    else:
        cert = _load_cert(cert_file, "certificate")
    key_source = cert_file if key is not None else (key_file or cert_file)
    if key is None:
        try:
            key = _load_key(key_source, password)
        except CertificateError:
            if key_file is not None:
                raise
            raise CertificateError(
                f"{cert_file}: holds no private key; set WALLETPASS_APPLE_KEY to the key file"
            ) from None
    if _public_der(key) != _public_der(cert):
        raise CertificateError(
            f"{key_source}: the private key does not match the certificate in {cert_file}"
        )
    wwdr = _load_cert(wwdr_file, "WWDR certificate")
    constraints = _ext(wwdr, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise CertificateError(
            f"{wwdr_file}: not a CA certificate; expected the Apple WWDR G4 intermediate"
        )
    return SigningIdentity(certificate=cert, private_key=key, wwdr=wwdr)


# --- checking ------------------------------------------------------------------


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> str | None:
    """None when parent signed child, else the reason."""
    try:
        child.verify_directly_issued_by(parent)
    except InvalidSignature:
        return "the signature does not verify"
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _describe(cert: x509.Certificate) -> str:
    return (
        f"{cert.subject.rfc4514_string()} (serial {cert.serial_number:X}, "
        f"valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
    )


def check_identity(
    identity: SigningIdentity,
    *,
    expected_pass_type_id: str,
    expected_team_id: str,
    now: datetime,
    root: x509.Certificate | None = None,
) -> CertReport:
    """Report on a signing identity: chain, ids against settings, expiry."""
    _require_aware(now)
    leaf, wwdr = identity.certificate, identity.wwdr
    warnings: list[str] = []
    errors: list[str] = []
    not_after = leaf.not_valid_after_utc
    days_left = (not_after - now) // _DAY
    lines = [
        f"Certificate: {leaf.subject.rfc4514_string()}",
        f"Issuer:      {leaf.issuer.rfc4514_string()}",
        f"Serial:      {leaf.serial_number:X}",
        f"SHA-256:     {leaf.fingerprint(hashes.SHA256()).hex(':').upper()}",
        f"Valid:       {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} to "
        f"{not_after:%Y-%m-%d %H:%M} UTC ({days_left} days left)",
        f"Pass type:   {identity.pass_type_id}  Team: {identity.team_id}",
    ]

    if now < leaf.not_valid_before_utc:
        errors.append(f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
    elif now >= not_after:
        errors.append(
            f"the certificate expired on {not_after:%Y-%m-%d}; create a new one in the "
            "Apple developer portal (see certs/README.md)"
        )
    elif days_left < EXPIRY_WARNING_DAYS:
        warnings.append(
            f"the certificate expires in {days_left} days ({not_after:%Y-%m-%d}); renew it now"
        )

    if identity.pass_type_id is None:
        errors.append("the certificate has no UID: not a Pass Type ID certificate")
    elif identity.pass_type_id != expected_pass_type_id:
        errors.append(
            f"the certificate is for pass type {identity.pass_type_id!r} but "
            f"WALLETPASS_APPLE_PASS_TYPE_ID is {expected_pass_type_id!r}"
        )
    if identity.team_id != expected_team_id:
        errors.append(
            f"the certificate belongs to team {identity.team_id!r} but "
            f"WALLETPASS_APPLE_TEAM_ID is {expected_team_id!r}"
        )
    ekus = _ext(leaf, x509.ExtendedKeyUsage)
    if ekus is None or PASS_EKU not in ekus:
        warnings.append(
            "the certificate lacks Apple's pass signing usage (1.2.840.113635.100.4.14)"
        )

    g4 = wwdr.serial_number == WWDR_G4_SERIAL
    wwdr_days_left = (wwdr.not_valid_after_utc - now) // _DAY
    lines.append(f"WWDR:        {_describe(wwdr)}" + ("  [Apple WWDR G4]" if g4 else ""))
    wwdr_cn = _attr(wwdr.subject, NameOID.COMMON_NAME) or ""
    if now >= wwdr.not_valid_after_utc:
        hint = " (Apple's WWDR G1 expired 2023-02-07)" if "Worldwide Developer" in wwdr_cn else ""
        errors.append(
            f"the WWDR intermediate expired on {wwdr.not_valid_after_utc:%Y-%m-%d}{hint}; "
            "use Apple's WWDR G4 intermediate (see certs/README.md)"
        )
    elif now < wwdr.not_valid_before_utc:
        errors.append("the WWDR intermediate is not valid yet")
    elif wwdr_days_left < EXPIRY_WARNING_DAYS:
        warnings.append(
            f"the WWDR intermediate expires in {wwdr_days_left} days "
            f"({wwdr.not_valid_after_utc:%Y-%m-%d}); download its successor from Apple"
        )
    reason = _issued_by(leaf, wwdr)
    if reason:
        errors.append(f"the certificate was not issued by this WWDR intermediate: {reason}")
    else:
        lines.append("Chain:       certificate signed by the WWDR intermediate")
    if root is not None:
        lines.append(f"Root:        {_describe(root)}")
        reason = _issued_by(wwdr, root)
        if reason:
            errors.append(f"the WWDR intermediate was not issued by this root: {reason}")
        else:
            lines.append("Chain:       WWDR intermediate signed by the root")

    return CertReport(
        ok=not errors,
        lines=lines,
        warnings=warnings,
        errors=errors,
        days_left=days_left,
        wwdr_days_left=wwdr_days_left,
    )
