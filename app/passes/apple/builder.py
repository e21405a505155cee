"""Signed .pkpass bundles: pass.json + strings + template images + manifest + signature."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from app.passes.apple.bundle import BundleFile, write_zip
from app.passes.apple.passjson import dumps, render_pass_json, render_strings
from app.passes.apple.signing import PassSigner
from app.passes.content import CardContent
from app.passes.templates import PassTemplate, TemplateStore

PKPASS_MIME = "application/vnd.apple.pkpass"


@dataclass(frozen=True)
class AppleIdentity:
    pass_type_id: str
    team_id: str
    web_service_url: str


@dataclass(frozen=True)
class SignedParts:
    """A signed pass without its template images: its own files, then manifest.json and
    signature (the manifest covers the images too)."""

    files: tuple[BundleFile, ...]
    image_set: str


class PkpassBuilder:
    """Builds signed passes; template images are prepared once per template."""

    def __init__(self, signer: PassSigner, templates: TemplateStore, identity: AppleIdentity):
        self._signer = signer
        self._templates = templates
        self.identity = identity
        self._assets: dict[str, tuple[BundleFile, ...]] = {}
        self._lock = threading.Lock()

    def _template_files(self, slug: str, template: PassTemplate | None) -> tuple[BundleFile, ...]:
        """Image files prepared once per image set (the template's, or a program's own)."""
        key = _image_set(slug, template)
        files = self._assets.get(key)
        if files is None:
            with self._lock:
                source = template if template is not None else self._templates.get(slug)
                files = tuple(BundleFile.stored(n, d) for n, d in sorted(source.images.items()))
                if len(self._assets) > 1000:  # image sets of deleted or redesigned programs
                    self._assets.clear()
                self._assets[key] = files
        return files

    @property
    def signer_fingerprint(self) -> str:
        return self._signer.fingerprint

    def sign_parts(self, content: CardContent, template: PassTemplate | None = None) -> SignedParts:
        """The pass's own files, manifest and signature; the images are named, not copied."""
        data, tables = render_pass_json(
            content,
            pass_type_id=self.identity.pass_type_id,
            team_id=self.identity.team_id,
            web_service_url=self.identity.web_service_url,
        )
        # Everything is stored uncompressed: deflating ~8 KB of JSON would cost a
        # third of the time of the signature and save a few kilobytes.
        own = [BundleFile.stored("pass.json", dumps(data))]
        own += (
            BundleFile.stored(f"{lang}.lproj/pass.strings", render_strings(table))
            for lang, table in sorted(tables.items())
        )
        images = self._template_files(content.template, template)
        manifest = json.dumps({f.name: f.sha1 for f in (*own, *images)}, sort_keys=True).encode()
        signature = self._signer.sign(manifest)
        own.append(BundleFile.stored("manifest.json", manifest))
        own.append(BundleFile.stored("signature", signature))
        return SignedParts(tuple(own), _image_set(content.template, template))

    def assemble(self, parts: SignedParts) -> bytes | None:
        """The .pkpass of signed parts; None when this process has not prepared their
        image set yet (the caller then renders the pass, which prepares it)."""
        images = self._assets.get(parts.image_set)
        if images is None:
            return None
        # The zip's order: the pass's files, the images, then manifest and signature.
        return write_zip((*parts.files[:-2], *images, *parts.files[-2:]))

    def build(self, content: CardContent, template: PassTemplate | None = None) -> bytes:
        body = self.assemble(self.sign_parts(content, template))
        assert body is not None  # sign_parts prepared the image set
        return body


def _image_set(slug: str, template: PassTemplate | None) -> str:
    return f"{slug}#{template.images_key}" if template is not None else f"{slug}#"
