#!/usr/bin/env bash
# Vendor GOV.UK Frontend's built assets into the review app's static folder.
#
# The review app serves GOV.UK Frontend's compiled CSS, JavaScript, fonts and images itself (no
# CDN, no Node at run time), so they live in the repository under
# risk_model/review/static/govuk-frontend/. This script refreshes them from the npm registry:
# it installs one pinned version and Dart Sass into a temporary folder, builds the stylesheet,
# copies the minified JS, the images and manifest.json and the licence, and records the version
# in VERSION.
#
# The stylesheet is built, not copied: GOV.UK Frontend's ready-made CSS uses the GDS Transport
# typeface, which may be used only by services on the GOV.UK domain, and a council's review app
# is not one. The build sets $govuk-font-family to Arial (GOV.UK's own fallback) and leaves out
# the @font-face rules, as GOV.UK Frontend's documentation says services off GOV.UK must; so
# the fonts are not vendored either.
#
# The version must be the one govuk-frontend-jinja supports (its README's compatibility table):
# the Jinja macros write the HTML that this CSS and JS expect. Bump the two together.
#
# Usage: scripts/vendor_govuk_frontend.sh [VERSION]   (default: the pinned one below)
set -euo pipefail

VERSION="${1:-6.3.0}"  # govuk-frontend-jinja 4.1.0 targets GOV.UK Frontend 6.3.0
SASS_VERSION="1.108.2"  # Dart Sass (the npm package `sass`), pinned so builds are repeatable

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/../risk_model/review/static/govuk-frontend"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm init -y >/dev/null &&
  npm install --silent --no-audit --no-fund "govuk-frontend@$VERSION" "sass@$SASS_VERSION")
package="$work/node_modules/govuk-frontend"
dist="$package/dist/govuk"
packed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$package/package.json" | head -n 1)"
if [[ "$packed" != "$VERSION" ]]; then
  echo "npm gave govuk-frontend $packed, not $VERSION" >&2
  exit 1
fi

cat > "$work/govuk-frontend.scss" <<'SCSS'
// Built by scripts/vendor_govuk_frontend.sh: GOV.UK Frontend without the GDS Transport typeface
@use "govuk-frontend/dist/govuk" as govuk with (
  $govuk-font-family: (arial, sans-serif),
  $govuk-include-default-font-face: false
);
SCSS
rm -rf "$dest"
mkdir -p "$dest/assets"
"$work/node_modules/.bin/sass" --load-path="$work/node_modules" --style=compressed \
  --no-source-map "$work/govuk-frontend.scss" "$dest/govuk-frontend.min.css"
if grep -q "GDS Transport" "$dest/govuk-frontend.min.css"; then
  echo "the built stylesheet still names GDS Transport" >&2
  exit 1
fi
cp "$dist/govuk-frontend.min.js" "$dest/"
cp -R "$dist/assets/images" "$dest/assets/images"
cp "$dist/assets/manifest.json" "$dest/assets/"
# the npm package has no licence file of its own (package.json says "MIT"): this is the
# repository's LICENSE.txt
cat > "$dest/LICENSE" <<'LICENCE'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENCE
echo "$VERSION" > "$dest/VERSION"
find "$dest" -type f -exec chmod 644 {} +  # the package marks the fonts executable
echo "vendored govuk-frontend $VERSION into ${dest#"$here/../"}"
