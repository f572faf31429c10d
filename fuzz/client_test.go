package fuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// answer is a RoundTripper that answers every request with one response.
type answer struct {
	status                  int
	contentType, retryAfter string
	body                    []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h := http.Header{}
	if a.contentType != "" {
		h.Set("Content-Type", a.contentType)
	}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{
		StatusCode:    a.status,
		Status:        strconv.Itoa(a.status) + " " + http.StatusText(a.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)),
		Request:       r,
	}, nil
}

// clientOps are the Client's calls, each reading one answer (Connect and
// LoginWithPassword read several, all the same).
var clientOps = []func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error{
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.AuthKeyRequest(ctx, key.Public().Pack(), appPlaceholder)
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.AuthKeyToken(ctx, make([]byte, attesta.TokenSize))
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.Connect(ctx, key, appPlaceholder)
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.Party(ctx, "ats_x")
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		return c.Logout(ctx, "ats_x")
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		return c.Health(ctx)
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.GetRegistry(ctx, fuzzNickname)
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.OwnRegistry(ctx, "ats_x")
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.PutRegistry(ctx, "ats_x", []byte{1}, 1)
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.AddIdentifier(ctx, "ats_x", attesta.Nickname, fuzzNickname)
		return err
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		return c.ConfirmIdentifier(ctx, "ats_x", attesta.Email, fuzzEmail, "123456")
	},
	func(ctx context.Context, c *transport.Client, key *attesta.PrivateKey) error {
		_, err := c.LoginWithPassword(ctx, appPlaceholder, fuzzNickname, []byte(fuzzPassword))
		return err
	},
}

// FuzzClientAnswers feeds any answer (status, Content-Type, Retry-After,
// body) to every call of the Go client, which reads what a server, maybe a
// hostile one, sends: JSON and CBOR answers, problem documents, and in
// LoginWithPassword a registry block whose KDF the client must check
// against its ceilings (cheap ones here) before deriving. The client must
// not panic; a non-2xx answer is a *transport.Problem with that status and
// no negative Retry-After.
func FuzzClientAnswers(f *testing.F) {
	key := testkeys.Key(f, attesta.X25519, 3)
	c := &corpus{f: f}
	block, err := registry.Seal(f.Context(), registry.Plaintext{PartyID: "p", Keys: [][]byte{key.Pack()}}, []byte(fuzzPassword), cheapParams(f)[0])
	if err != nil {
		f.Fatal(err)
	}
	encrypted, err := key.Public().EncryptToken(make([]byte, attesta.TokenSize))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1700000000, 0).UTC()
	answers := []any{
		transport.AuthKeyRequestResponse{EncryptedToken: encrypted, ExpiresAt: now},
		transport.AuthKeyTokenResponse{IsNew: true, PartyID: "AAAAAAAAAAAAAAAAAAAAAA", Session: "ats_x", SessionExpiresAt: now},
		transport.PartyResponse{PartyID: "AAAAAAAAAAAAAAAAAAAAAA", Created: now, Keys: []transport.PartyKey{{KeyID: "k", Type: "x25519-public", Added: now}},
			Identifiers: []transport.PartyIdentifier{{Kind: attesta.Nickname, Hint: "fu***"}}},
		transport.RegistryResponse{Registry: block, Version: 1},
		transport.PutRegistryResponse{Version: 2},
		transport.AddIdentifierResponse{Status: attesta.StatusPending},
		map[string]string{"status": "ok"},
	}
	for op := range clientOps {
		for _, a := range answers {
			c.add(uint8(op), uint16(200), "application/json", "", encodeJSON(f, a))
			c.add(uint8(op), uint16(200), "application/cbor", "", mustCBOR(f, a))
		}
		c.add(uint8(op), uint16(204), "", "", []byte(nil))
		problem := encodeJSON(f, transport.Problem{Title: "Too many requests", Status: 429, Code: "rate_limited"})
		c.add(uint8(op), uint16(429), "application/problem+json", "7", problem)
		c.add(uint8(op), uint16(503), "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", []byte("<html>down</html>"))
		c.add(uint8(op), uint16(302), "", "", []byte(nil))
	}
	c.done()

	f.Fuzz(func(t *testing.T, op uint8, status uint16, contentType, retryAfter string, body []byte) {
		a := answer{status: 100 + int(status)%500, contentType: contentType, retryAfter: retryAfter, body: body}
		cl := transport.NewClient("http://attesta.test", transport.WithHTTPClient(&http.Client{Transport: a}),
			transport.WithCeilings(fuzzCeilings))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		err := clientOps[int(op)%len(clientOps)](ctx, cl, key)
		if a.status >= 200 && a.status <= 299 {
			return
		}
		var p *transport.Problem
		switch {
		case a.status >= 300 && a.status < 400 && err != nil && !errors.As(err, &p):
			return // the HTTP client's own redirect errors
		case !errors.As(err, &p):
			t.Fatalf("a %d answer gave %v, not a *transport.Problem", a.status, err)
		case p.Status != a.status:
			t.Fatalf("a %d answer gave a problem with status %d", a.status, p.Status)
		case p.RetryAfter < 0:
			t.Fatalf("Retry-After %q read as %v", retryAfter, p.RetryAfter)
		}
		_ = p.Error()
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	})
}
