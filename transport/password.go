package transport

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// The handlers of the password login flow: login identifiers, and the
// sealed registry. As everywhere in this package, each decodes, calls the
// Service and renders; what an identifier is, what a block must look like
// and what an unknown login answers are the Service's decisions.

// identKey is the key of an identifier's rate-limit bucket: an HMAC of the
// normalised identifier under a key drawn when the Handler is made, so
// that the table in memory does not list the emails and phone numbers
// asked for, and spellings of one identifier share one bucket.
type identKey [sha256.Size]byte

func (h *Handler) identKeyOf(id attesta.Identifier) identKey {
	m := hmac.New(sha256.New, h.identKeySecret)
	m.Write([]byte(id.Kind))
	m.Write([]byte{0})
	m.Write([]byte(id.Value))
	var k identKey
	m.Sum(k[:0])
	return k
}

// loginAddr keys the per-login bucket of one client address.
type loginAddr struct {
	login identKey
	addr  netip.Addr
}

// limited takes a token from key's bucket in l at now, or returns the 429
// error.
func limited[K comparable](l *limiter[K], key K, now time.Time) error {
	if ok, wait := l.allow(key, now); !ok {
		return l.refusal(wait)
	}
	return nil
}

// getRegistry serves GET /v1/registry: with a login in the query, the
// unauthenticated fetch of a device that has only a login and a password;
// without a query, the authenticated fetch of the session's own registry.
func (h *Handler) getRegistry(w http.ResponseWriter, r *http.Request) error {
	if r.URL.RawQuery == "" {
		return h.ownRegistry(w, r)
	}
	return h.registryByLogin(w, r)
}

// registryByLogin answers a login fetch. The Service answers a login no
// party holds with a decoy, so this handler must not tell the two apart
// either: every refusal here depends on the request alone (its address,
// its query, the login's form and its bucket), comes before the Service
// is asked, and the answer is rendered the same way whatever the Service
// found. The Authorization header, if any, is not read.
func (h *Handler) registryByLogin(w http.ResponseWriter, r *http.Request) error {
	addr := h.clientAddr(r)
	if err := limited(h.loginAddrLimit, addr, h.now()); err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q) != 1 || len(q["login"]) != 1 {
		return badRequest("the query must be login=<identifier> and nothing else")
	}
	login := q.Get("login")
	// Parsing here is input validation (a malformed login names no
	// account, so refusing it tells nothing) and gives the bucket key:
	// spellings of one login share a bucket.
	id, err := attesta.ParseLogin(login)
	if err != nil {
		return err
	}
	if err := limited(h.loginLimit, loginAddr{h.identKeyOf(id), addr}, h.now()); err != nil {
		return err
	}
	reg, err := h.svc.RegistryByLogin(r.Context(), login)
	if err != nil {
		return err
	}
	return h.render(w, r, formatJSON, RegistryResponse{Registry: reg.Block, Version: reg.Version})
}

func (h *Handler) ownRegistry(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	reg, err := h.svc.OwnRegistry(r.Context(), sess.PartyID)
	if err != nil {
		return err // attesta.ErrNotFound: 404 not_found
	}
	return h.render(w, r, formatJSON, RegistryResponse{Registry: reg.Block, Version: reg.Version})
}

func (h *Handler) putRegistry(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r) // before reading up to 90 KiB
	if err != nil {
		return err
	}
	var body PutRegistryBody
	f, err := h.decode(w, r, h.maxRegistryBody, &body)
	if err != nil {
		return err
	}
	v, err := h.svc.PutRegistry(r.Context(), sess.PartyID, body.Registry, body.Version)
	if err != nil {
		return err
	}
	return h.render(w, r, f, PutRegistryResponse{Version: v})
}

func (h *Handler) addIdentifier(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	if err := limited(h.addLimit, sess.PartyID, h.now()); err != nil {
		return err
	}
	var body IdentifierBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	st, err := h.svc.AddIdentifier(r.Context(), sess.PartyID, body.Kind, body.Value)
	if err != nil {
		return err
	}
	return h.render(w, r, f, AddIdentifierResponse{Status: st})
}

func (h *Handler) confirmIdentifier(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	if err := limited(h.confirmLimit, sess.PartyID, h.now()); err != nil {
		return err
	}
	var body ConfirmIdentifierBody
	if _, err := h.decode(w, r, h.maxBody, &body); err != nil {
		return err
	}
	if err := h.svc.ConfirmIdentifier(r.Context(), sess.PartyID, body.Kind, body.Value, body.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) removeIdentifier(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var body IdentifierBody
	if _, err := h.decode(w, r, h.maxBody, &body); err != nil {
		return err
	}
	if err := h.svc.RemoveIdentifier(r.Context(), sess.PartyID, body.Kind, body.Value); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// partyIdentifiers lists ids in a stable order, for display: active ones
// by the time they were added, then pending ones; ties by kind and hint.
func partyIdentifiers(ids []attesta.IdentifierInfo) []PartyIdentifier {
	out := make([]PartyIdentifier, 0, len(ids))
	for _, id := range ids {
		pi := PartyIdentifier{Kind: id.Kind, Hint: id.Hint, Pending: id.Pending}
		if !id.Pending {
			pi.Added = wireTime(id.Added)
		}
		out = append(out, pi)
	}
	slices.SortStableFunc(out, func(a, b PartyIdentifier) int {
		if a.Pending != b.Pending {
			if a.Pending {
				return 1
			}
			return -1
		}
		return cmp.Or(a.Added.Compare(b.Added), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Hint, b.Hint))
	})
	return out
}
