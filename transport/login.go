package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

// WithCeilings sets the most KDF work the Client does to open a registry
// fetched from the server (LoginWithPassword). The block names its own KDF
// parameters, and the server chose what it serves, so without a ceiling a
// hostile server could make the device allocate any amount of memory. The
// default is kdf.DefaultCeilings().
func WithCeilings(c kdf.Ceilings) ClientOption { return func(cl *Client) { cl.ceilings = c } }

// AddIdentifier adds a login identifier to the session's party. A free
// nickname is active at once; an email or phone is pending until
// ConfirmIdentifier is called with the code the server sent to it.
func (c *Client) AddIdentifier(ctx context.Context, session string, kind attesta.IdentifierKind, value string) (attesta.IdentifierStatus, error) {
	var res AddIdentifierResponse
	if err := c.do(ctx, http.MethodPost, "/v1/identifiers", session, IdentifierBody{Kind: kind, Value: value}, &res); err != nil {
		return "", err
	}
	switch res.Status {
	case attesta.StatusActive, attesta.StatusPending:
		return res.Status, nil
	}
	return "", fmt.Errorf("transport: POST /v1/identifiers: unknown status in the answer")
}

// ConfirmIdentifier makes a pending email or phone active with the code
// sent to it.
func (c *Client) ConfirmIdentifier(ctx context.Context, session string, kind attesta.IdentifierKind, value, code string) error {
	return c.do(ctx, http.MethodPost, "/v1/identifiers/confirm", session, ConfirmIdentifierBody{Kind: kind, Value: value, Code: code}, nil)
}

// RemoveIdentifier removes one of the session party's identifiers, active
// or pending.
func (c *Client) RemoveIdentifier(ctx context.Context, session string, kind attesta.IdentifierKind, value string) error {
	return c.do(ctx, http.MethodDelete, "/v1/identifiers", session, IdentifierBody{Kind: kind, Value: value}, nil)
}

// PutRegistry stores block, a registry sealed with registry.Seal, as the
// session party's registry, if version is the version last read (0 if the
// party has none), and returns the new version. A registry changed since
// is attesta.ErrVersionConflict: read it again (OwnRegistry), merge, and
// put again.
func (c *Client) PutRegistry(ctx context.Context, session string, block []byte, version uint64) (newVersion uint64, err error) {
	var res PutRegistryResponse
	if err := c.do(ctx, http.MethodPut, "/v1/registry", session, PutRegistryBody{Registry: block, Version: version}, &res); err != nil {
		return 0, err
	}
	return res.Version, nil
}

// GetRegistry fetches the registry of the party that holds login, without
// authentication. For a login no party holds, the server answers a decoy
// that no password opens, so the answer does not tell whether an account
// exists.
func (c *Client) GetRegistry(ctx context.Context, login string) (RegistryResponse, error) {
	var res RegistryResponse
	err := c.do(ctx, http.MethodGet, "/v1/registry?"+url.Values{"login": {login}}.Encode(), "", nil, &res)
	return res, err
}

// OwnRegistry fetches the session party's own registry with its version,
// for a device that merges before a PutRegistry. A party without one is
// an error matching attesta.ErrNotFound.
func (c *Client) OwnRegistry(ctx context.Context, session string) (RegistryResponse, error) {
	var res RegistryResponse
	err := c.do(ctx, http.MethodGet, "/v1/registry", session, nil, &res)
	return res, err
}

// Login is what LoginWithPassword recovers.
type Login struct {
	// Session is the connect's answer; IsNew is false for a real account.
	Session AuthKeyTokenResponse
	// Keys are the registry's private keys, in its order; the first
	// connected.
	Keys []*attesta.PrivateKey
	// Registry is the opened registry.
	Registry registry.Plaintext
	// KDFTime is the time registry.Open took (the password KDF, then the
	// AEAD and the decoding), so that a caller can tell the KDF's cost from
	// the rest.
	KDFTime time.Duration
}

// LoginWithPassword logs in on a device that has no key: it fetches the
// registry of login, checks the block's KDF parameters against the
// Client's ceilings (WithCeilings) before any derivation, opens the block
// with password, parses every private key in it and connects with the
// first.
//
// A wrong password is registry.ErrWrongPassword, and so is a login no
// party holds (the server's decoy opens with no password): the two cannot
// be told apart, by design. KDF parameters above the ceilings are an error
// matching kdf.ErrAboveCeiling. A registry without keys is ErrNoKey.
func (c *Client) LoginWithPassword(ctx context.Context, appToken, login string, password []byte) (*Login, error) {
	reg, err := c.GetRegistry(ctx, login)
	if err != nil {
		return nil, err
	}
	h, err := registry.Inspect(reg.Registry)
	if err != nil {
		return nil, fmt.Errorf("transport: the server's registry block: %w", err)
	}
	if err := c.ceilings.Check(h.KDF); err != nil {
		return nil, fmt.Errorf("transport: the server's registry block asks for %v: %w", h.KDF, err)
	}
	start := time.Now()
	pt, err := registry.Open(ctx, reg.Registry, password, c.ceilings)
	kdfTime := time.Since(start)
	if err != nil {
		return nil, err
	}
	if len(pt.Keys) == 0 {
		return nil, ErrNoKey
	}
	keys := make([]*attesta.PrivateKey, len(pt.Keys))
	for i, packed := range pt.Keys {
		if keys[i], err = attesta.ParsePrivateKey(packed); err != nil {
			return nil, fmt.Errorf("transport: key %d of the registry: %w", i, err)
		}
	}
	session, err := c.Connect(ctx, keys[0], appToken)
	if err != nil {
		return nil, err
	}
	return &Login{Session: session, Keys: keys, Registry: pt, KDFTime: kdfTime}, nil
}
