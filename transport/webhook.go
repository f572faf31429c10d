package transport

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// WebhookEntitlements is an attesta.Entitlements for deployments whose
// payments live elsewhere: it asks a URL of the payment system whether an
// instance's TOKEN is entitled.
//
//	POST URL  Content-Type: application/json
//	          {"token": "app:…", "app": "…", "party_id": "…"}
//	-> 200    {"entitled": true | false}
//
// Only a 2xx answer whose body is exactly that object (application/json,
// at most 4 KiB) is an answer; anything else — a timeout
// (WebhookConfig.Timeout), a refused connection, a redirect (not
// followed), a non-2xx status, another body — is an error, and the
// Service refuses the instance (it fails closed) and remembers the
// failure for a few seconds. The Service caches every answer per TOKEN for
// attesta.Config.EntitlementTTL, so the webhook is asked about an
// instance at most about once a TTL per server process.
//
// The request carries nothing secret (a TOKEN names an instance; it is
// printed on payments). Serve the webhook over https, or on a network the
// server alone reaches: its answers are what entitles an instance.
type WebhookEntitlements struct {
	url     string
	hc      *http.Client
	timeout time.Duration
}

// WebhookConfig configures a WebhookEntitlements.
type WebhookConfig struct {
	// URL is the webhook's http or https URL. Required.
	URL string
	// Timeout bounds one check, from the request to the answer's last
	// byte. Default 5 seconds.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client of its own that
	// follows no redirects.
	HTTPClient *http.Client
}

// WebhookRequest is the body the webhook receives.
type WebhookRequest struct {
	Token   string `json:"token"`
	App     string `json:"app"`
	PartyID string `json:"party_id"`
}

// WebhookAnswer is the body the webhook answers with.
type WebhookAnswer struct {
	Entitled bool `json:"entitled"`
}

// maxWebhookAnswer bounds what is read of a webhook's answer.
const maxWebhookAnswer = 4 << 10

var _ attesta.Entitlements = (*WebhookEntitlements)(nil)

// NewWebhookEntitlements checks cfg and returns the checker.
func NewWebhookEntitlements(cfg WebhookConfig) (*WebhookEntitlements, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("transport: WebhookConfig.URL needs an http or https URL")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("transport: WebhookConfig.Timeout must not be negative")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &WebhookEntitlements{url: cfg.URL, hc: hc, timeout: cmp.Or(cfg.Timeout, 5*time.Second)}, nil
}

// Entitled asks the webhook about token.
func (w *WebhookEntitlements) Entitled(ctx context.Context, token attesta.InstanceToken) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	body, err := json.Marshal(WebhookRequest{Token: token.String(), App: token.App(), PartyID: token.PartyID().String()})
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("transport: entitlement webhook: %w", err)
	}
	req.Header.Set("Content-Type", mediaJSON)
	req.Header.Set("Accept", mediaJSON)
	resp, err := w.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("transport: entitlement webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, fmt.Errorf("transport: entitlement webhook answered %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != mediaJSON {
		return false, errors.New("transport: entitlement webhook answered without application/json")
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookAnswer+1))
	if err != nil {
		return false, fmt.Errorf("transport: entitlement webhook: reading the answer: %w", err)
	}
	if len(data) > maxWebhookAnswer {
		return false, fmt.Errorf("transport: entitlement webhook answered over %d bytes", maxWebhookAnswer)
	}
	var a WebhookAnswer
	if err := decodeJSON(data, &a); err != nil {
		return false, fmt.Errorf(`transport: entitlement webhook: the answer is not {"entitled": bool}: %w`, err)
	}
	return a.Entitled, nil
}
