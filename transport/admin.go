package transport

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// The administration API: what an operator does to a running server
// (applications today). It is not part of the protocol and is never
// mounted on the public listener: the demo server serves it on a Unix
// socket in its data directory, mode 0600, so that only the server's own
// user can reach it, and `attesta-server app …` talks to that socket while
// a server runs. Its routes:
//
//	GET  /admin/v1/apps                  -> 200 [{name, created, revoked?}]
//	POST /admin/v1/apps {name}           -> 200 {name, token}  (the token, once)
//	POST /admin/v1/apps/{name}/revoke    -> 204
//
// Errors are problem documents from the same table as the public API.

// AdminApp is one application, as the administration API lists it.
type AdminApp struct {
	Name    string    `json:"name" cbor:"name"`
	Created time.Time `json:"created" cbor:"created"`
	Revoked time.Time `json:"revoked,omitzero" cbor:"revoked,omitzero"`
}

// AdminCreateAppBody is the body of POST /admin/v1/apps.
type AdminCreateAppBody struct {
	Name string `json:"name" cbor:"name"`
}

// AdminCreateAppResponse answers POST /admin/v1/apps: the application's
// token, shown this once.
type AdminCreateAppResponse struct {
	Name  string `json:"name" cbor:"name"`
	Token string `json:"token" cbor:"token"`
}

// NewAdminHandler returns the administration API over svc. Serve it only
// where the operator alone can reach it (a Unix socket of mode 0600).
func NewAdminHandler(svc *attesta.Service, log *slog.Logger) (http.Handler, error) {
	if svc == nil {
		return nil, errors.New("transport: NewAdminHandler needs a Service")
	}
	h, err := NewHandler(svc, HandlerConfig{Logger: log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, e := range h.adminEndpoints() {
		mux.Handle(e.method+" "+e.path, h.wrap(e.route(), nil, e.serve))
	}
	mux.Handle("/", h.wrap(routeUnmatched, nil, func(http.ResponseWriter, *http.Request) error { return ErrNotFound }))
	return mux, nil
}

// adminEndpoints are the routes of the administration API (TestOpenAPI
// holds docs/openapi.yaml to them).
func (h *Handler) adminEndpoints() []endpoint {
	return []endpoint{
		{http.MethodGet, "/admin/v1/apps", nil, h.adminApps},
		{http.MethodPost, "/admin/v1/apps", nil, h.adminCreateApp},
		{http.MethodPost, "/admin/v1/apps/{name}/revoke", nil, h.adminRevokeApp},
	}
}

func (h *Handler) adminApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := h.svc.Apps(r.Context())
	if err != nil {
		return err
	}
	out := make([]AdminApp, 0, len(apps))
	for _, a := range apps {
		out = append(out, AdminApp{Name: a.Name, Created: wireTime(a.Created), Revoked: wireTime(a.Revoked)})
	}
	return h.render(w, r, formatJSON, out)
}

func (h *Handler) adminCreateApp(w http.ResponseWriter, r *http.Request) error {
	var body AdminCreateAppBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	token, err := h.svc.CreateApp(r.Context(), body.Name)
	if err != nil {
		return err
	}
	return h.render(w, r, f, AdminCreateAppResponse{Name: body.Name, Token: token})
}

func (h *Handler) adminRevokeApp(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RevokeApp(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AdminClient talks to the administration API on a Unix socket.
type AdminClient struct{ c *Client }

// NewAdminClient returns a client for the administration API served on
// the Unix socket at path.
func NewAdminClient(path string) *AdminClient {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	return &AdminClient{c: NewClient("http://attesta-admin", WithHTTPClient(hc))}
}

// Apps lists the applications.
func (a *AdminClient) Apps(ctx context.Context) ([]AdminApp, error) {
	var out []AdminApp
	err := a.c.do(ctx, http.MethodGet, "/admin/v1/apps", "", nil, &out)
	return out, err
}

// CreateApp creates an application and returns its token.
func (a *AdminClient) CreateApp(ctx context.Context, name string) (string, error) {
	var out AdminCreateAppResponse
	err := a.c.do(ctx, http.MethodPost, "/admin/v1/apps", "", AdminCreateAppBody{Name: name}, &out)
	return out.Token, err
}

// RevokeApp revokes an application's token.
func (a *AdminClient) RevokeApp(ctx context.Context, name string) error {
	return a.c.do(ctx, http.MethodPost, "/admin/v1/apps/"+url.PathEscape(name)+"/revoke", "", nil, nil)
}
