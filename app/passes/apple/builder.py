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
        key = f"{slug}#{template.images_key}" if template is not None else f"{slug}#"
        files = self._assets.get(key)
        if files is None:
            with self._lock:
                source = template if template is not None else self._templates.get(slug)
                files = tuple(BundleFile.stored(n, d) for n, d in sorted(source.images.items()))
                if len(self._assets) > 1000:  # image sets of deleted or redesigned programs
                    self._assets.clear()
                self._assets[key] = files
        return files

    def build(self, content: CardContent, template: PassTemplate | None = None) -> bytes:
        data, tables = render_pass_json(
            content,
            pass_type_id=self.identity.pass_type_id,
            team_id=self.identity.team_id,
            web_service_url=self.identity.web_service_url,
        )
        # Everything is stored uncompressed: deflating ~8 KB of JSON would cost a
        # third of the time of the signature and save a few kilobytes.
        files = [BundleFile.stored("pass.json", dumps(data))]
        files += (
            BundleFile.stored(f"{lang}.lproj/pass.strings", render_strings(table))
            for lang, table in sorted(tables.items())
        )
        files += self._template_files(content.template, template)
        manifest = json.dumps({f.name: f.sha1 for f in files}, sort_keys=True).encode()
        signature = self._signer.sign(manifest)
        files.append(BundleFile.stored("manifest.json", manifest))
        files.append(BundleFile.stored("signature", signature))
        return write_zip(files)
