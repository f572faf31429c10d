// Package docs holds the documents the server serves about itself:
// openapi.yaml, the OpenAPI 3.1 description of the HTTP API, which the
// demo server serves at GET /v1/openapi.yaml. PROTOCOL.md, beside it, is
// the specification the description points to.
//
// openapi.yaml is written in the JSON-compatible subset of YAML 1.2, so
// that the tests check it with encoding/json and no YAML dependency; any
// YAML or JSON reader reads it. transport's tests hold it to the handler's
// routes and problem table, both ways.
package docs

import _ "embed"

//go:embed openapi.yaml
var openAPI string

// OpenAPI returns the OpenAPI description of the HTTP API.
func OpenAPI() string { return openAPI }
