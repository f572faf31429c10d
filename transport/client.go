package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
)

// maxResponseBytes bounds what the Client reads of an answer: a hostile or
// broken server cannot make it buffer more.
const maxResponseBytes = 1 << 20

// Client runs the Attesta protocol against a server. It is safe for
// concurrent use.
//
// An error answer is returned as a *Problem, which matches with errors.Is
// the sentinel its code stands for (attesta.ErrKeyBanned,
// ErrRateLimited, …).
type Client struct {
	base     string
	hc       *http.Client
	format   format
	ceilings kdf.Ceilings
	now      func() time.Time // reads a Retry-After date: time.Now, or a test's clock
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient makes the Client send its requests through hc. The
// default (and what nil means) is an http.Client with a 30-second timeout.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithCBOR makes the Client send and ask for CBOR instead of JSON.
func WithCBOR() ClientOption { return func(c *Client) { c.format = formatCBOR } }

// NewClient returns a Client for the server at baseURL (for example
// "https://example.com"; a path prefix is kept, a trailing slash dropped).
func NewClient(baseURL string, opts ...ClientOption) *Client {
	c := &Client{
		base:     strings.TrimRight(baseURL, "/"),
		hc:       &http.Client{Timeout: 30 * time.Second},
		ceilings: kdf.DefaultCeilings(),
		now:      time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// AuthKeyRequest sends a packed public key and an application token, and
// returns the challenge token encrypted to the key.
func (c *Client) AuthKeyRequest(ctx context.Context, packedKey []byte, appToken string) (AuthKeyRequestResponse, error) {
	var res AuthKeyRequestResponse
	err := c.do(ctx, http.MethodPost, "/v1/auth_key_request", "", AuthKeyRequestBody{Key: packedKey, AppToken: appToken}, &res)
	return res, err
}

// AuthKeyToken sends a decrypted challenge token and returns the party and
// a session.
func (c *Client) AuthKeyToken(ctx context.Context, token []byte) (AuthKeyTokenResponse, error) {
	var res AuthKeyTokenResponse
	err := c.do(ctx, http.MethodPost, "/v1/auth_key_token", "", AuthKeyTokenBody{Token: token}, &res)
	return res, err
}

// Connect runs both steps of a connect with key: the request, the
// decryption of the challenge (attesta.ErrDecrypt if it fails) and the
// token. IsNew tells whether the server made a new party for the key.
func (c *Client) Connect(ctx context.Context, key *attesta.PrivateKey, appToken string) (AuthKeyTokenResponse, error) {
	req, err := c.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
	if err != nil {
		return AuthKeyTokenResponse{}, err
	}
	token, err := key.DecryptToken(req.EncryptedToken)
	if err != nil {
		return AuthKeyTokenResponse{}, err
	}
	return c.AuthKeyToken(ctx, token)
}

// Party returns the party a session belongs to, with its keys.
func (c *Client) Party(ctx context.Context, session string) (PartyResponse, error) {
	var res PartyResponse
	err := c.do(ctx, http.MethodGet, "/v1/party", session, nil, &res)
	return res, err
}

// Logout revokes a session.
func (c *Client) Logout(ctx context.Context, session string) error {
	return c.do(ctx, http.MethodPost, "/v1/logout", session, nil, nil)
}

// Health checks that the server answers.
func (c *Client) Health(ctx context.Context) error {
	var res healthResponse
	if err := c.do(ctx, http.MethodGet, "/healthz", "", nil, &res); err != nil {
		return err
	}
	if res.Status != "ok" {
		return fmt.Errorf("transport: GET /healthz: status is not ok")
	}
	return nil
}

// do sends one request and decodes a 2xx answer into out (if not nil) or
// returns the error answer as a *Problem. path may carry a query (a login);
// errors name the path without it.
func (c *Client) do(ctx context.Context, method, pathQuery, session string, in, out any) error {
	path, _, hasQuery := strings.Cut(pathQuery, "?")
	var body []byte
	if in != nil {
		var err error
		if c.format == formatCBOR {
			body, err = cborx.Marshal(in)
		} else {
			body, err = json.Marshal(in)
		}
		if err != nil {
			return fmt.Errorf("transport: encoding %s %s: %w", method, path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("transport: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", c.format.mediaType())
	}
	req.Header.Set("Accept", c.format.mediaType()+", "+mediaProblem)
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// A *url.Error naming the method and URL, which holds no secret;
		// a login in the query is left out all the same.
		if ue := (*url.Error)(nil); hasQuery && errors.As(err, &ue) {
			ue.URL = c.base + path
		}
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("transport: reading the answer to %s %s: %w", method, path, err)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("transport: the answer to %s %s is over %d bytes", method, path, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return problemOf(resp, data, c.now())
	}
	if out == nil {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case mediaJSON:
		// Unknown members are ignored, so that a server may add some.
		err = json.Unmarshal(data, out)
	case mediaCBOR:
		err = cborx.Decode(data, out)
	default:
		return fmt.Errorf("transport: the answer to %s %s is neither JSON nor CBOR", method, path)
	}
	if err != nil {
		return fmt.Errorf("transport: decoding the answer to %s %s: %w", method, path, err)
	}
	return nil
}

// problemOf makes the *Problem of an error answer. A body that is not a
// problem document (a proxy's error page) leaves Code empty and Title the
// status text.
func problemOf(resp *http.Response, data []byte, now time.Time) *Problem {
	p := &Problem{}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == mediaProblem {
		if err := json.Unmarshal(data, p); err != nil {
			*p = Problem{}
		}
	}
	p.Status = resp.StatusCode
	if p.Title == "" {
		p.Title = http.StatusText(resp.StatusCode)
	}
	p.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	return p
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). Zero if absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > math.MaxInt64/uint64(time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
