"""The pass signer, checked with the real OpenSSL command line."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from app.passes.apple.certs import DevChain, generate_dev_chain, load_signing_identity
from app.passes.apple.signing import CmsPassSigner, PassSigner
from tests.helpers import require_command

MANIFEST = json.dumps(
    {
        "pass.json": "9c1185a5c5e9fc54612808977ee8f548b2258d31",
        "icon.png": "2a62b2e9d2a1c4e2a1a40f3b3f8e2f0c6f1b0d7e",
        "en.lproj/pass.strings": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    },
    indent=2,
).encode()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevChain:
    # Real time: openssl checks validity against the clock.
    out = tmp_path_factory.mktemp("signing")
    return generate_dev_chain(
        out, "pass.dev.walletpass.loyalty", "WPDEVTEAM1", now=datetime.now(UTC)
    )


@pytest.fixture(scope="module")
def signer(chain: DevChain) -> CmsPassSigner:
    identity = load_signing_identity(
        chain.pass_p12, key_file=None, password=None, wwdr_file=chain.wwdr_cert
    )
    return CmsPassSigner(identity)


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_command("openssl", "openssl"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _verify(chain: DevChain, signature: bytes, manifest: bytes, tmp_path: Path) -> int:
    (tmp_path / "signature").write_bytes(signature)
    (tmp_path / "manifest.json").write_bytes(manifest)
    result = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER",
        "-in", tmp_path / "signature", "-content", tmp_path / "manifest.json",
        "-CAfile", chain.root_cert, "-certfile", chain.wwdr_cert,
        "-purpose", "any", "-out", "/dev/null",
    )  # fmt: skip
    return result.returncode


def test_signer_satisfies_the_protocol(signer: CmsPassSigner) -> None:
    as_protocol: PassSigner = signer
    assert as_protocol.sign(MANIFEST)


def test_signature_verifies_with_openssl(
    signer: CmsPassSigner, chain: DevChain, tmp_path: Path
) -> None:
    assert b"\n" in MANIFEST  # newlines are what break signatures made without Binary
    assert _verify(chain, signer.sign(MANIFEST), MANIFEST, tmp_path) == 0


def test_tampered_manifest_fails(signer: CmsPassSigner, chain: DevChain, tmp_path: Path) -> None:
    signature = signer.sign(MANIFEST)
    tampered = MANIFEST.replace(b"9c1185", b"9c1186")
    assert _verify(chain, signature, tampered, tmp_path) != 0
    crlf = MANIFEST.replace(b"\n", b"\r\n")
    assert _verify(chain, signature, crlf, tmp_path) != 0


def test_signature_structure(signer: CmsPassSigner, chain: DevChain, tmp_path: Path) -> None:
    path = tmp_path / "signature"
    path.write_bytes(signer.sign(MANIFEST))
    result = _openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", path)
    assert result.returncode == 0, result.stderr
    dump = result.stdout
    assert "eContent: <ABSENT>" in dump  # detached: the manifest is not embedded
    assert re.search(r"digestAlgorithm:\s*\n\s*algorithm: sha256 ", dump)
    assert "sha1" not in dump
    signing_time = re.search(
        r"signingTime \(1\.2\.840\.113549\.1\.9\.5\)\s*set:\s*UTCTIME:(.+)", dump
    )
    assert signing_time, "signingTime attribute missing"
    when = datetime.strptime(signing_time.group(1).strip(), "%b %d %H:%M:%S %Y %Z")
    assert abs(when.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)
    assert "messageDigest" in dump
    assert "walletpass Dev WWDR Intermediate" in dump


def test_wwdr_and_leaf_are_embedded(signer: CmsPassSigner, chain: DevChain) -> None:
    embedded = pkcs7.load_der_pkcs7_certificates(signer.sign(MANIFEST))
    wwdr = x509.load_pem_x509_certificate(chain.wwdr_cert.read_bytes())
    leaf = x509.load_pem_x509_certificate(chain.pass_cert.read_bytes())
    assert wwdr in embedded and leaf in embedded
    assert len(embedded) == 2


def test_manifest_is_not_in_the_signature(signer: CmsPassSigner) -> None:
    assert b"pass.strings" not in signer.sign(MANIFEST)
