"""Static files for production: hashed names and compressed copies (WhiteNoise), source maps left alone.

Django's manifest storage rewrites every ``sourceMappingURL`` comment it finds to
the map's hashed name, and fails ``collectstatic`` when the map is not there.
Minified libraries are shipped without their maps (they are for debugging the
library, not Omni), so a vendored file naming one would stop a production start.
This storage rewrites the references pages need (``url()`` and ``@import`` in
CSS, module imports in JavaScript) and leaves source-map comments as they are.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    return tuple(
        (extension, tuple(p for p in rules if "sourceMappingURL" not in str(p))) for extension, rules in patterns
    )


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
