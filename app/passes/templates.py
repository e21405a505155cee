"""Pass templates: the look and texts of a program's card, from pass_templates/<slug>/.

A template folder holds ``template.json`` (labels, change messages, back-side texts
in every supported language) and PNG images (icon, logo, strip at @1x/@2x/@3x).
Templates are loaded once and kept; images are re-compressed once on load.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

LOCALES = ("ru", "en")
IMAGE_NAME = re.compile(r"^(icon|logo|strip|thumbnail|background)(@[23]x)?\.png$")
REQUIRED_IMAGES = ("icon.png",)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

Localized = dict[str, str]


class TemplateError(ValueError):
    """A template folder is missing or malformed; the message says which file."""


@dataclass(frozen=True)
class BackField:
    key: str
    label: Localized
    value: Localized


@dataclass(frozen=True)
class PassTemplate:
    slug: str
    description: Localized
    labels: dict[str, Localized]
    change_messages: dict[str, Localized]
    back_fields: tuple[BackField, ...]
    images: dict[str, bytes]  # file name -> PNG bytes
    images_key: str = ""  # names the image set: "" is the template's own

    def label(self, key: str) -> Localized:
        return self.labels[key]


class TemplateStore:
    """Loads templates on first use and keeps them (thread-safe)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cache: dict[str, PassTemplate] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> PassTemplate:
        template = self._cache.get(slug)
        if template is not None:
            return template
        with self._lock:
            if slug not in self._cache:
                self._cache[slug] = load_template(self._root, slug)
            return self._cache[slug]


def _localized(value: Any, where: str) -> Localized:
    if not isinstance(value, dict) or any(lang not in value for lang in LOCALES):
        raise TemplateError(f"{where}: expected texts for {', '.join(LOCALES)}")
    return {lang: str(value[lang]) for lang in LOCALES}


def _optimised_png(data: bytes, where: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise TemplateError(f"{where}: not a PNG file")
            image.load()
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (OSError, SyntaxError) as exc:
        raise TemplateError(f"{where}: unreadable image ({exc})") from None
    smaller = out.getvalue()
    return smaller if len(smaller) < len(data) else data


def load_template(root: Path, slug: str) -> PassTemplate:
    if not SLUG.match(slug):
        raise TemplateError(f"template name {slug!r} is not a valid slug")
    folder = root / slug
    spec_file = folder / "template.json"
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{spec_file}: no such file") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{spec_file}: invalid JSON ({exc})") from None
    images = {
        path.name: _optimised_png(path.read_bytes(), str(path))
        for path in sorted(folder.iterdir())
        if IMAGE_NAME.match(path.name)
    }
    for required in REQUIRED_IMAGES:
        if required not in images:
            raise TemplateError(f"{folder}: {required} is required by Apple Wallet")
    try:
        labels = {k: _localized(v, f"{spec_file} labels.{k}") for k, v in spec["labels"].items()}
        changes = {
            k: _localized(v, f"{spec_file} change_messages.{k}")
            for k, v in spec.get("change_messages", {}).items()
        }
        back = tuple(
            BackField(
                key=str(item["key"]),
                label=_localized(item["label"], f"{spec_file} back.{item['key']}.label"),
                value=_localized(item["value"], f"{spec_file} back.{item['key']}.value"),
            )
            for item in spec.get("back", [])
        )
        description = _localized(spec["description"], f"{spec_file} description")
    except (KeyError, TypeError, AttributeError) as exc:
        raise TemplateError(f"{spec_file}: missing or malformed entry {exc}") from None
    for key, message in changes.items():
        if any("%@" not in text for text in message.values()):
            raise TemplateError(f"{spec_file} change_messages.{key}: every text needs '%@'")
    return PassTemplate(slug, description, labels, changes, back, images)


def with_texts(template: PassTemplate, texts: dict[str, Any] | None) -> PassTemplate:
    """The template with a program's own labels and back-side texts over its defaults.

    ``texts`` is ``{"labels": {key: {"ru", "en"}}, "back": {key: {"label": {...},
    "value": {...}}}}``; keys the template does not have are ignored, images stay.
    """
    if not texts:
        return template
    labels = dict(template.labels)
    for key, value in (texts.get("labels") or {}).items():
        if key in labels:
            labels[key] = {**labels[key], **value}
    back_texts = texts.get("back") or {}
    back = tuple(
        BackField(
            field.key,
            {**field.label, **(back_texts.get(field.key, {}).get("label") or {})},
            {**field.value, **(back_texts.get(field.key, {}).get("value") or {})},
        )
        for field in template.back_fields
    )
    return replace(template, labels=labels, back_fields=back)


def with_images(template: PassTemplate, images: dict[str, bytes], key: str) -> PassTemplate:
    """The template with a program's own images (same names) over its files."""
    if not images:
        return template
    return replace(template, images={**template.images, **images}, images_key=key)
