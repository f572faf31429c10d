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
// (applications; instances, entitlements and service keys, below). It is not part of the protocol and is never
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
		{http.MethodPost, "/admin/v1/instances/verify", nil, h.adminVerifyInstance},
		{http.MethodGet, "/admin/v1/entitlements", nil, h.adminEntitlements},
		{http.MethodPost, "/admin/v1/entitlements", nil, h.adminGrantEntitlement},
		{http.MethodPost, "/admin/v1/entitlements/revoke", nil, h.adminRevokeEntitlement},
		{http.MethodGet, "/admin/v1/service_keys", nil, h.adminServiceKeys},
		{http.MethodPost, "/admin/v1/service_keys", nil, h.adminSetServiceKey},
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

// The administration routes of application instances (attesta/instance.go,
// entitlements.go, vault.go). A TOKEN travels in a body, not a path: it is
// up to 193 characters, and bodies are not logged.
//
//	POST /admin/v1/instances/verify {token}        -> 200 {token, app, party_id}
//	GET  /admin/v1/entitlements[?app=APP]          -> 200 [{token, app, party_id, granted}]
//	POST /admin/v1/entitlements {token}            -> 200 {token, app, party_id, granted}
//	POST /admin/v1/entitlements/revoke {token}     -> 204
//	GET  /admin/v1/service_keys                    -> 200 [{app, provider, version, updated}]
//	POST /admin/v1/service_keys {app, provider, value} -> 200 {app, provider, version, updated}
//
// The value of a service key goes in once, over the socket, and never
// comes out: no route answers one.

// AdminTokenBody is the body of the routes that take an instance TOKEN.
type AdminTokenBody struct {
	Token string `json:"token" cbor:"token"`
}

// AdminInstance is what a TOKEN names.
type AdminInstance struct {
	Token   string `json:"token" cbor:"token"`
	App     string `json:"app" cbor:"app"`
	PartyID string `json:"party_id" cbor:"party_id"`
}

// AdminEntitlement is one entitlement of the store-backed list.
type AdminEntitlement struct {
	Token   string    `json:"token" cbor:"token"`
	App     string    `json:"app" cbor:"app"`
	PartyID string    `json:"party_id" cbor:"party_id"`
	Granted time.Time `json:"granted" cbor:"granted"`
}

// AdminSetServiceKeyBody is the body of POST /admin/v1/service_keys.
type AdminSetServiceKeyBody struct {
	App      string `json:"app" cbor:"app"`
	Provider string `json:"provider" cbor:"provider"`
	Value    B64    `json:"value" cbor:"value"`
}

// AdminServiceKey is a service key's names and version, never its value.
type AdminServiceKey struct {
	App      string    `json:"app" cbor:"app"`
	Provider string    `json:"provider" cbor:"provider"`
	Version  uint64    `json:"version" cbor:"version"`
	Updated  time.Time `json:"updated" cbor:"updated"`
}

func (h *Handler) adminVerifyInstance(w http.ResponseWriter, r *http.Request) error {
	var body AdminTokenBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	t, err := h.svc.VerifyInstanceToken(body.Token)
	if err != nil {
		return err
	}
	return h.render(w, r, f, AdminInstance{Token: t.String(), App: t.App(), PartyID: t.PartyID().String()})
}

func adminEntitlement(e attesta.GrantedEntitlement) AdminEntitlement {
	return AdminEntitlement{Token: e.Token.String(), App: e.Token.App(), PartyID: e.Token.PartyID().String(), Granted: wireTime(e.Granted)}
}

func (h *Handler) adminEntitlements(w http.ResponseWriter, r *http.Request) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q) > 1 || len(q) == 1 && len(q["app"]) != 1 {
		return badRequest("the query may be app=<name> and nothing else")
	}
	es, err := h.svc.Entitlements(r.Context(), q.Get("app"))
	if err != nil {
		return err
	}
	out := make([]AdminEntitlement, 0, len(es))
	for _, e := range es {
		out = append(out, adminEntitlement(e))
	}
	return h.render(w, r, formatJSON, out)
}

func (h *Handler) adminGrantEntitlement(w http.ResponseWriter, r *http.Request) error {
	var body AdminTokenBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	e, err := h.svc.GrantEntitlement(r.Context(), body.Token)
	if err != nil {
		return err
	}
	return h.render(w, r, f, adminEntitlement(e))
}

func (h *Handler) adminRevokeEntitlement(w http.ResponseWriter, r *http.Request) error {
	var body AdminTokenBody
	if _, err := h.decode(w, r, h.maxBody, &body); err != nil {
		return err
	}
	if err := h.svc.RevokeEntitlement(r.Context(), body.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) adminServiceKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := h.svc.ServiceKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]AdminServiceKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, AdminServiceKey{App: k.App, Provider: k.Provider, Version: k.Version, Updated: wireTime(k.Updated)})
	}
	return h.render(w, r, formatJSON, out)
}

func (h *Handler) adminSetServiceKey(w http.ResponseWriter, r *http.Request) error {
	var body AdminSetServiceKeyBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	defer clear(body.Value)
	k, err := h.svc.SetServiceKey(r.Context(), body.App, body.Provider, body.Value)
	if err != nil {
		return err
	}
	return h.render(w, r, f, AdminServiceKey{App: k.App, Provider: k.Provider, Version: k.Version, Updated: wireTime(k.Updated)})
}

// VerifyInstance asks the server what a TOKEN names, and whether it made
// it (attesta.ErrBadInstanceToken if not).
func (a *AdminClient) VerifyInstance(ctx context.Context, token string) (AdminInstance, error) {
	var out AdminInstance
	err := a.c.do(ctx, http.MethodPost, "/admin/v1/instances/verify", "", AdminTokenBody{Token: token}, &out)
	return out, err
}

// Entitlements lists the entitlements of app, or of every application
// for "".
func (a *AdminClient) Entitlements(ctx context.Context, app string) ([]AdminEntitlement, error) {
	var out []AdminEntitlement
	path := "/admin/v1/entitlements"
	if app != "" {
		path += "?" + url.Values{"app": {app}}.Encode()
	}
	err := a.c.do(ctx, http.MethodGet, path, "", nil, &out)
	return out, err
}

// GrantEntitlement entitles the instance a TOKEN names.
func (a *AdminClient) GrantEntitlement(ctx context.Context, token string) (AdminEntitlement, error) {
	var out AdminEntitlement
	err := a.c.do(ctx, http.MethodPost, "/admin/v1/entitlements", "", AdminTokenBody{Token: token}, &out)
	return out, err
}

// RevokeEntitlement removes the entitlement of the instance a TOKEN names.
func (a *AdminClient) RevokeEntitlement(ctx context.Context, token string) error {
	return a.c.do(ctx, http.MethodPost, "/admin/v1/entitlements/revoke", "", AdminTokenBody{Token: token}, nil)
}

// ServiceKeys lists the service keys' names and versions.
func (a *AdminClient) ServiceKeys(ctx context.Context) ([]AdminServiceKey, error) {
	var out []AdminServiceKey
	err := a.c.do(ctx, http.MethodGet, "/admin/v1/service_keys", "", nil, &out)
	return out, err
}

// SetServiceKey stores value as app's service key for provider, the next
// version, and returns it.
func (a *AdminClient) SetServiceKey(ctx context.Context, app, provider string, value []byte) (AdminServiceKey, error) {
	var out AdminServiceKey
	err := a.c.do(ctx, http.MethodPost, "/admin/v1/service_keys", "", AdminSetServiceKeyBody{App: app, Provider: provider, Value: value}, &out)
	return out, err
}
