// Package config loads settings from the extension when it is imported, as
// the seed's config module did. Importing it runs the call during INIT.
package config

import "github.com/lambda-mw/mw/e2e/internal/naive"

// Flags is what the init-time call got.
var Flags = naive.GetParameter("init", "/app/flags")
