"""Signing identities: dev chain generation, loading, and the certificate check."""

from __future__ import annotations

import re
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.passes.apple.certs import (
    PASS_EKU,
    WWDR_G4_SERIAL,
    CertificateError,
    CertReport,
    DevChain,
    SigningIdentity,
    check_identity,
    generate_dev_chain,
    load_signing_identity,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASS_TYPE_ID = "pass.dev.walletpass.loyalty"
TEAM_ID = "WPDEVTEAM1"
PASSWORD = "s3cret pass"


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevChain:
    out = tmp_path_factory.mktemp("certs") / "dev"
    return generate_dev_chain(out, PASS_TYPE_ID, TEAM_ID, now=NOW)


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> DevChain:
    """A second, unrelated chain whose .p12 has a password."""
    out = tmp_path_factory.mktemp("other")
    return generate_dev_chain(out, PASS_TYPE_ID, TEAM_ID, now=NOW, p12_password=PASSWORD.encode())


@pytest.fixture(scope="module")
def identity(chain: DevChain) -> SigningIdentity:
    return load_signing_identity(
        chain.pass_p12, key_file=None, password=None, wwdr_file=chain.wwdr_cert
    )


def _check(
    identity: SigningIdentity,
    *,
    now: datetime = NOW,
    pass_type_id: str = PASS_TYPE_ID,
    team_id: str = TEAM_ID,
    root: x509.Certificate | None = None,
) -> CertReport:
    return check_identity(
        identity,
        expected_pass_type_id=pass_type_id,
        expected_team_id=team_id,
        now=now,
        root=root,
    )


# --- generation ------------------------------------------------------------------


def test_dev_chain_writes_files_with_private_modes(chain: DevChain) -> None:
    for path in (chain.root_cert, chain.wwdr_cert, chain.pass_cert, chain.pass_key, chain.pass_p12):
        assert path.is_file(), path
    assert stat.S_IMODE(chain.pass_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(chain.pass_p12.stat().st_mode) == 0o600
    assert stat.S_IMODE(chain.pass_cert.parent.stat().st_mode) == 0o700
    assert {p.name for p in chain.pass_cert.parent.iterdir()} == {
        "root.pem", "wwdr.pem", "pass.pem", "pass-key.pem", "pass.p12",
    }  # fmt: skip


def test_leaf_looks_like_a_pass_type_id_certificate(chain: DevChain) -> None:
    leaf = _cert(chain.pass_cert)
    assert [(a.oid, a.value) for a in leaf.subject] == [
        (NameOID.USER_ID, PASS_TYPE_ID),
        (NameOID.COMMON_NAME, f"Pass Type ID: {PASS_TYPE_ID}"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, TEAM_ID),
        (NameOID.ORGANIZATION_NAME, "walletpass dev"),
        (NameOID.COUNTRY_NAME, "US"),
    ]
    public_key = leaf.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 2048
    assert leaf.not_valid_before_utc == NOW
    assert leaf.not_valid_after_utc == NOW + timedelta(days=365)
    ext = leaf.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ext.get_extension_for_class(x509.KeyUsage).value.digital_signature
    ekus = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(ekus) == {PASS_EKU, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_chain_mimics_apple_and_verifies(chain: DevChain) -> None:
    root, wwdr, leaf = (_cert(p) for p in (chain.root_cert, chain.wwdr_cert, chain.pass_cert))
    root.verify_directly_issued_by(root)
    wwdr.verify_directly_issued_by(root)
    leaf.verify_directly_issued_by(wwdr)
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "walletpass Dev Root CA"
    )
    assert wwdr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "walletpass Dev WWDR Intermediate"
    )
    assert wwdr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "G4"
    constraints = wwdr.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign


def test_dev_chain_rejects_naive_time(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate_dev_chain(tmp_path, PASS_TYPE_ID, TEAM_ID, now=datetime(2026, 1, 1))


# --- loading ---------------------------------------------------------------------


def test_p12_loads_back(chain: DevChain, identity: SigningIdentity) -> None:
    assert identity.certificate == _cert(chain.pass_cert)
    assert identity.wwdr == _cert(chain.wwdr_cert)
    assert identity.pass_type_id == PASS_TYPE_ID
    assert identity.team_id == TEAM_ID


def test_p12_with_password(other: DevChain) -> None:
    loaded = load_signing_identity(
        other.pass_p12, key_file=None, password=PASSWORD, wwdr_file=other.wwdr_cert
    )
    assert loaded.certificate == _cert(other.pass_cert)


@pytest.mark.parametrize("password", [None, "wrong"])
def test_p12_wrong_password_names_the_file(other: DevChain, password: str | None) -> None:
    with pytest.raises(CertificateError, match=re.escape(str(other.pass_p12))) as err:
        load_signing_identity(
            other.pass_p12, key_file=None, password=password, wwdr_file=other.wwdr_cert
        )
    assert "password" in str(err.value)


def test_pem_certificate_and_key_load(chain: DevChain, identity: SigningIdentity) -> None:
    loaded = load_signing_identity(
        chain.pass_cert, key_file=chain.pass_key, password=None, wwdr_file=chain.wwdr_cert
    )
    assert loaded.certificate == identity.certificate
    assert loaded.pass_type_id == PASS_TYPE_ID


def test_der_certificate_and_combined_pem(chain: DevChain, tmp_path: Path) -> None:
    der = tmp_path / "pass.cer"
    der.write_bytes(_cert(chain.pass_cert).public_bytes(serialization.Encoding.DER))
    assert load_signing_identity(
        der, key_file=chain.pass_key, password=None, wwdr_file=chain.wwdr_cert
    ).team_id == TEAM_ID  # fmt: skip
    combined = tmp_path / "combined.pem"
    combined.write_bytes(chain.pass_cert.read_bytes() + chain.pass_key.read_bytes())
    loaded = load_signing_identity(
        combined, key_file=None, password=None, wwdr_file=chain.wwdr_cert
    )
    assert loaded.certificate == _cert(chain.pass_cert)


def test_encrypted_pem_key(identity: SigningIdentity, chain: DevChain, tmp_path: Path) -> None:
    key_file = tmp_path / "enc-key.pem"
    key_file.write_bytes(
        identity.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    args = {"key_file": key_file, "wwdr_file": chain.wwdr_cert}
    assert load_signing_identity(chain.pass_cert, password=PASSWORD, **args).team_id == TEAM_ID
    with pytest.raises(CertificateError, match=f"{re.escape(str(key_file))}.*encrypted"):
        load_signing_identity(chain.pass_cert, password=None, **args)
    with pytest.raises(CertificateError, match=f"{re.escape(str(key_file))}.*wrong password"):
        load_signing_identity(chain.pass_cert, password="nope", **args)


def test_password_for_an_unencrypted_key_is_tolerated(chain: DevChain) -> None:
    loaded = load_signing_identity(
        chain.pass_p12, key_file=None, password="unused", wwdr_file=chain.wwdr_cert
    )
    assert loaded.team_id == TEAM_ID
    loaded = load_signing_identity(
        chain.pass_cert, key_file=chain.pass_key, password="unused", wwdr_file=chain.wwdr_cert
    )
    assert loaded.team_id == TEAM_ID


def test_mismatched_key(chain: DevChain, other: DevChain) -> None:
    with pytest.raises(CertificateError, match="does not match") as err:
        load_signing_identity(
            chain.pass_cert, key_file=other.pass_key, password=None, wwdr_file=chain.wwdr_cert
        )
    assert str(other.pass_key) in str(err.value) and str(chain.pass_cert) in str(err.value)


@pytest.mark.parametrize("missing", ["cert", "key", "wwdr"])
def test_missing_file_is_named(chain: DevChain, tmp_path: Path, missing: str) -> None:
    absent = tmp_path / f"no-{missing}.pem"
    files = {"cert": chain.pass_cert, "key": chain.pass_key, "wwdr": chain.wwdr_cert}
    files[missing] = absent
    with pytest.raises(CertificateError, match=f"{re.escape(str(absent))}.*not found"):
        load_signing_identity(
            files["cert"], key_file=files["key"], password=None, wwdr_file=files["wwdr"]
        )


def test_not_a_certificate(chain: DevChain, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("this is not a certificate\n")
    with pytest.raises(
        CertificateError, match=f"{re.escape(str(junk))}: not a PEM or DER certificate"
    ):
        load_signing_identity(
            junk, key_file=chain.pass_key, password=None, wwdr_file=chain.wwdr_cert
        )
    with pytest.raises(CertificateError, match=f"{re.escape(str(junk))}: not a PEM or DER WWDR"):
        load_signing_identity(
            chain.pass_cert, key_file=chain.pass_key, password=None, wwdr_file=junk
        )
    p12 = tmp_path / "junk.p12"
    p12.write_bytes(b"\x30\x03\x02\x01\x03")
    with pytest.raises(CertificateError, match=f"{re.escape(str(p12))}: cannot open"):
        load_signing_identity(p12, key_file=None, password=None, wwdr_file=chain.wwdr_cert)


def test_pem_certificate_without_key(chain: DevChain) -> None:
    with pytest.raises(
        CertificateError, match=f"{re.escape(str(chain.pass_cert))}: holds no private key"
    ):
        load_signing_identity(
            chain.pass_cert, key_file=None, password=None, wwdr_file=chain.wwdr_cert
        )


def test_wwdr_must_be_a_ca(chain: DevChain) -> None:
    with pytest.raises(
        CertificateError, match=f"{re.escape(str(chain.pass_cert))}: not a CA certificate"
    ):
        load_signing_identity(
            chain.pass_p12, key_file=None, password=None, wwdr_file=chain.pass_cert
        )


# --- check_identity --------------------------------------------------------------


def test_good_chain_is_ok(identity: SigningIdentity, chain: DevChain) -> None:
    report = _check(identity, root=_cert(chain.root_cert))
    assert report.ok, report.errors
    assert report.errors == [] and report.warnings == []
    assert report.days_left == 365
    text = "\n".join(report.lines)
    assert f"CN=Pass Type ID: {PASS_TYPE_ID}" in text
    assert "walletpass Dev WWDR Intermediate" in text
    assert "365 days left" in text
    assert "signed by the root" in text


def test_expiring_soon_warns(identity: SigningIdentity) -> None:
    report = _check(identity, now=identity.certificate.not_valid_after_utc - timedelta(days=10))
    assert report.ok
    assert report.days_left == 10
    assert any("expires in 10 days" in w for w in report.warnings)


def test_expired_is_an_error(identity: SigningIdentity) -> None:
    report = _check(identity, now=identity.certificate.not_valid_after_utc + timedelta(days=1))
    assert not report.ok
    assert report.days_left < 0
    assert any("expired" in e for e in report.errors)


def test_not_yet_valid_is_an_error(identity: SigningIdentity) -> None:
    report = _check(identity, now=NOW - timedelta(hours=1))
    assert not report.ok and any("not valid before" in e for e in report.errors)


def test_pass_type_and_team_mismatch_are_errors(identity: SigningIdentity) -> None:
    report = _check(identity, pass_type_id="pass.com.example.other")
    assert not report.ok
    assert any("pass.com.example.other" in e for e in report.errors)
    report = _check(identity, team_id="OTHERTEAM9")
    assert not report.ok
    assert any("OTHERTEAM9" in e for e in report.errors)


def test_leaf_not_signed_by_the_wwdr(identity: SigningIdentity, other: DevChain) -> None:
    # Same subject names, different keys: only the signature check can tell.
    report = _check(replace(identity, wwdr=_cert(other.wwdr_cert)))
    assert not report.ok
    assert any("not issued by this WWDR" in e for e in report.errors)


def test_wwdr_not_signed_by_the_root(identity: SigningIdentity, other: DevChain) -> None:
    report = _check(identity, root=_cert(other.root_cert))
    assert not report.ok
    assert any("not issued by this root" in e for e in report.errors)


def _fake_apple_wwdr(key: rsa.RSAPrivateKey, serial: int, not_after: datetime) -> x509.Certificate:
    cn = "Apple Worldwide Developer Relations Certification Authority"
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Apple Inc."),
    ])  # fmt: skip
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_after - timedelta(days=3650))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_expired_apple_wwdr_g1_is_an_error(identity: SigningIdentity) -> None:
    assert isinstance(identity.private_key, rsa.RSAPrivateKey)
    g1 = _fake_apple_wwdr(identity.private_key, 0x1DEBCC4396DA010, datetime(2023, 2, 7, tzinfo=UTC))
    report = _check(replace(identity, wwdr=g1))
    assert not report.ok
    assert any("expired on 2023-02-07" in e and "G4" in e for e in report.errors)


def test_apple_wwdr_g4_serial_is_recognised(identity: SigningIdentity) -> None:
    assert isinstance(identity.private_key, rsa.RSAPrivateKey)
    g4 = _fake_apple_wwdr(identity.private_key, WWDR_G4_SERIAL, datetime(2030, 12, 10, tzinfo=UTC))
    report = _check(replace(identity, wwdr=g4))
    assert any("Apple WWDR G4" in line for line in report.lines)
    assert not any("Apple WWDR G4" in line for line in _check(identity).lines)


def test_check_rejects_naive_time(identity: SigningIdentity) -> None:
    with pytest.raises(ValueError, match="timezone"):
        _check(identity, now=datetime(2026, 3, 1))


def test_p12_embeds_the_wwdr(chain: DevChain) -> None:
    *_, extra = pkcs12.load_key_and_certificates(chain.pass_p12.read_bytes(), None)
    assert extra == [_cert(chain.wwdr_cert)]
