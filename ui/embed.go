package ui

import "embed"

// assets holds the templates and the static files. Everything the UI
// serves is inside the binary.
//
//go:embed templates static
var assets embed.FS
