package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/attesta-go/attesta/attesta"
)

// The application instances' endpoints (keypeer's flow, see
// attesta/instance.go): an instance connects as any party does, then
// registers the key it connected with, fetches its TOKEN, and, once its
// TOKEN is entitled, its application's service keys, each encrypted to
// its own key. As everywhere in this package the handlers decode, call
// the Service and render.
//
//	POST /v1/instance                 Bearer {key}  -> 200 {token}
//	GET  /v1/instance/token           Bearer        -> 200 {token}
//	GET  /v1/service_keys/{provider}  Bearer        -> 200 {provider, version, encrypted_key}

// RegisterInstanceBody is the body of POST /v1/instance: the packed
// public key the session connected with.
type RegisterInstanceBody struct {
	Key B64 `json:"key" cbor:"key"`
}

// InstanceTokenResponse answers POST /v1/instance and GET
// /v1/instance/token: the instance's TOKEN (attesta.InstanceToken).
type InstanceTokenResponse struct {
	Token string `json:"token" cbor:"token"`
}

// ServiceKeyResponse answers GET /v1/service_keys/{provider}: the
// application's service key for the provider, at its current version,
// encrypted to the session's key (attesta.PrivateKey.DecryptServiceKey
// opens it).
type ServiceKeyResponse struct {
	Provider     string `json:"provider" cbor:"provider"`
	Version      uint64 `json:"version" cbor:"version"`
	EncryptedKey B64    `json:"encrypted_key" cbor:"encrypted_key"`
}

func (h *Handler) registerInstance(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var body RegisterInstanceBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	tok, err := h.svc.RegisterInstance(r.Context(), sess, body.Key)
	if err != nil {
		return err
	}
	return h.render(w, r, f, InstanceTokenResponse{Token: tok.String()})
}

func (h *Handler) instanceToken(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	tok, err := h.svc.InstanceToken(r.Context(), sess)
	if err != nil {
		return err
	}
	return h.render(w, r, formatJSON, InstanceTokenResponse{Token: tok.String()})
}

func (h *Handler) serviceKey(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	res, err := h.svc.ServiceKey(r.Context(), sess, r.PathValue("provider"))
	if err != nil {
		return err
	}
	// As auth_key_request: the encryption's cost is charged to the
	// address once the answer is made (wrap).
	setCost(r, res.Cost)
	return h.render(w, r, formatJSON, ServiceKeyResponse{Provider: res.Provider, Version: res.Version, EncryptedKey: res.Ciphertext})
}

// RegisterInstance registers the session's party as an instance of the
// session's application, with key, the public key the session connected
// with, and returns the instance's TOKEN.
func (c *Client) RegisterInstance(ctx context.Context, session string, key *attesta.PublicKey) (attesta.InstanceToken, error) {
	var res InstanceTokenResponse
	if err := c.do(ctx, http.MethodPost, "/v1/instance", session, RegisterInstanceBody{Key: key.Pack()}, &res); err != nil {
		return attesta.InstanceToken{}, err
	}
	return parseTokenAnswer("POST /v1/instance", res)
}

// ConnectInstance connects with key (Connect) and registers the party as
// an instance of the application (RegisterInstance): an instance's first
// start, and every later one (registering again changes nothing).
func (c *Client) ConnectInstance(ctx context.Context, key *attesta.PrivateKey, appToken string) (AuthKeyTokenResponse, attesta.InstanceToken, error) {
	res, err := c.Connect(ctx, key, appToken)
	if err != nil {
		return AuthKeyTokenResponse{}, attesta.InstanceToken{}, err
	}
	tok, err := c.RegisterInstance(ctx, res.Session, key.Public())
	return res, tok, err
}

// InstanceToken returns the TOKEN of the session's instance.
func (c *Client) InstanceToken(ctx context.Context, session string) (attesta.InstanceToken, error) {
	var res InstanceTokenResponse
	if err := c.do(ctx, http.MethodGet, "/v1/instance/token", session, nil, &res); err != nil {
		return attesta.InstanceToken{}, err
	}
	return parseTokenAnswer("GET /v1/instance/token", res)
}

func parseTokenAnswer(what string, res InstanceTokenResponse) (attesta.InstanceToken, error) {
	tok, err := attesta.ParseInstanceToken(res.Token)
	if err != nil {
		return attesta.InstanceToken{}, fmt.Errorf("transport: %s: the answer holds no TOKEN: %w", what, err)
	}
	return tok, nil
}

// ServiceKey fetches the session's application's service key for
// provider and decrypts it with key, the private key the session
// connected with. It returns the value and its version (a rotation is a
// new version).
func (c *Client) ServiceKey(ctx context.Context, session, provider string, key *attesta.PrivateKey) (value []byte, version uint64, err error) {
	var res ServiceKeyResponse
	if err := c.do(ctx, http.MethodGet, "/v1/service_keys/"+url.PathEscape(provider), session, nil, &res); err != nil {
		return nil, 0, err
	}
	value, err = key.DecryptServiceKey(res.EncryptedKey)
	if err != nil {
		return nil, 0, err
	}
	return value, res.Version, nil
}
