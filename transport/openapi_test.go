package transport_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/docs"
)

// TestServeOpenAPI: the handler serves docs/openapi.yaml as it is.
func TestServeOpenAPI(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	resp := e.do(t, http.MethodGet, "/v1/openapi.yaml", nil, nil)
	raw := readAll(t, resp, http.StatusOK)
	assert.Equal(t, docs.OpenAPI(), string(raw))
	assert.Equal(t, "application/yaml", resp.Header.Get("Content-Type"))
	assert.Equal(t, strconv.Itoa(len(raw)), resp.Header.Get("Content-Length"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Empty(t, resp.Header.Values("Vary"))

	resp = e.do(t, http.MethodHead, "/v1/openapi.yaml", nil, nil)
	assert.Empty(t, readAll(t, resp, http.StatusOK))

	resp = e.do(t, http.MethodPost, "/v1/openapi.yaml", nil, nil)
	readAll(t, resp, http.StatusMethodNotAllowed)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}
