package transport_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

var password = []byte("correct horse battery staple")

// cheapKDF is Argon2id at 64 KiB and one pass: for tests only.
func cheapKDF(t testing.TB) kdf.Params {
	t.Helper()
	p, err := kdf.Argon2idParams(64, 1, 1)
	require.NoError(t, err)
	return p
}

// seal seals a registry holding keys for party.
func seal(t testing.TB, party string, params kdf.Params, keys ...*attesta.PrivateKey) []byte {
	t.Helper()
	pt := registry.Plaintext{PartyID: party, Created: time.Now(), AppData: map[string][]byte{"notes": []byte("hello")}}
	for _, k := range keys {
		pt.Keys = append(pt.Keys, k.Pack())
	}
	block, err := registry.Seal(context.Background(), pt, password, params)
	require.NoError(t, err)
	return block
}

// TestPasswordLogin runs issue #3's story over HTTP: a device connects
// with its key, adds a nickname and an email (confirmed with the code
// from the outbox), pushes its sealed registry; a second device with no
// key logs in by nickname and by email with the password, and gets the
// same party and the same keys.
func TestPasswordLogin(t *testing.T) {
	for i, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			e := newPasswordEnv(t, attesta.Config{}, generous)
			ctx := t.Context()
			c := e.client(f.cbor)
			first := testkeys.Key(t, []attesta.Algorithm{attesta.RSA2048, attesta.MLKEM768X25519}[i], 0)
			second := testkeys.Key(t, attesta.X25519, i)

			res, err := c.Connect(ctx, first, e.app)
			require.NoError(t, err)
			require.True(t, res.IsNew)
			session := res.Session

			p, err := c.Party(ctx, session)
			require.NoError(t, err)
			assert.NotNil(t, p.Identifiers)
			assert.Empty(t, p.Identifiers)

			st, err := c.AddIdentifier(ctx, session, attesta.Nickname, "  Alice   Smith ")
			require.NoError(t, err)
			assert.Equal(t, attesta.StatusActive, st)
			st, err = c.AddIdentifier(ctx, session, attesta.Nickname, "alice smith")
			require.NoError(t, err)
			assert.Equal(t, attesta.StatusActive, st, "adding a held nickname again is a no-op")
			st, err = c.AddIdentifier(ctx, session, attesta.Email, "Alice@Example.COM")
			require.NoError(t, err)
			assert.Equal(t, attesta.StatusPending, st)

			p, err = c.Party(ctx, session)
			require.NoError(t, err)
			require.Len(t, p.Identifiers, 2)
			assert.Equal(t, transport.PartyIdentifier{Kind: attesta.Nickname, Hint: "al***", Added: p.Identifiers[0].Added}, p.Identifiers[0])
			assert.False(t, p.Identifiers[0].Added.IsZero())
			assert.Equal(t, transport.PartyIdentifier{Kind: attesta.Email, Hint: "a***@example.com", Pending: true}, p.Identifiers[1])

			require.NoError(t, c.ConfirmIdentifier(ctx, session, attesta.Email, " alice@example.com", e.code(t, "alice@example.com")))
			p, err = c.Party(ctx, session)
			require.NoError(t, err)
			require.Len(t, p.Identifiers, 2)
			for _, id := range p.Identifiers {
				assert.False(t, id.Pending, id.Hint)
				assert.False(t, id.Added.IsZero(), id.Hint)
			}

			_, err = c.OwnRegistry(ctx, session)
			requireProblem(t, err, http.StatusNotFound, "not_found", attesta.ErrNotFound)

			block := seal(t, res.PartyID, cheapKDF(t), first, second)
			v, err := c.PutRegistry(ctx, session, block, 0)
			require.NoError(t, err)
			assert.EqualValues(t, 1, v)
			own, err := c.OwnRegistry(ctx, session)
			require.NoError(t, err)
			assert.Equal(t, block, []byte(own.Registry))
			assert.EqualValues(t, 1, own.Version)

			// A second device: no key, no session.
			device := e.client(f.cbor)
			for _, login := range []string{"alice smith", " ALICE  SMITH", "alice@example.com", "Alice@Example.com "} {
				l, err := device.LoginWithPassword(ctx, e.app, login, password)
				require.NoError(t, err, login)
				assert.Equal(t, res.PartyID, l.Session.PartyID, login)
				assert.False(t, l.Session.IsNew, login)
				require.Len(t, l.Keys, 2)
				assert.Equal(t, first.Pack(), l.Keys[0].Pack(), "the recovered key is the original")
				assert.Equal(t, second.Pack(), l.Keys[1].Pack())
				assert.Equal(t, res.PartyID, l.Registry.PartyID)
				assert.Equal(t, []byte("hello"), l.Registry.AppData["notes"])
				assert.Positive(t, l.KDFTime)
				pl, err := device.Party(ctx, l.Session.Session)
				require.NoError(t, err)
				assert.Equal(t, res.PartyID, pl.PartyID)
			}

			_, err = device.LoginWithPassword(ctx, e.app, "alice smith", []byte("wrong"))
			assert.ErrorIs(t, err, registry.ErrWrongPassword)

			// A second version, then a stale put.
			block2 := seal(t, res.PartyID, cheapKDF(t), first)
			v, err = c.PutRegistry(ctx, session, block2, 1)
			require.NoError(t, err)
			assert.EqualValues(t, 2, v)
			_, err = c.PutRegistry(ctx, session, block, 1)
			requireProblem(t, err, http.StatusConflict, "version_conflict", attesta.ErrVersionConflict)
			got, err := device.GetRegistry(ctx, "alice smith")
			require.NoError(t, err)
			assert.Equal(t, block2, []byte(got.Registry))
			assert.EqualValues(t, 1, got.Version, "a login fetch always says 1, as decoys do")

			// Without its nickname the party is reached by email only;
			// the nickname now answers a decoy.
			require.NoError(t, c.RemoveIdentifier(ctx, session, attesta.Nickname, "Alice Smith"))
			got, err = device.GetRegistry(ctx, "alice smith")
			require.NoError(t, err)
			assert.NotEqual(t, block2, []byte(got.Registry))
			assert.EqualValues(t, 1, got.Version)
			l, err := device.LoginWithPassword(ctx, e.app, "alice@example.com", password)
			require.NoError(t, err)
			assert.Equal(t, res.PartyID, l.Session.PartyID)
			p, err = c.Party(ctx, session)
			require.NoError(t, err)
			require.Len(t, p.Identifiers, 1)
			assert.Equal(t, attesta.Email, p.Identifiers[0].Kind)

			// Nothing personal or secret reaches the log.
			out := e.logs.String()
			for _, s := range []string{"alice", "example.com", string(password), b64(block), session} {
				assert.NotContains(t, out, s)
			}
		})
	}
}

// TestLoginWithPasswordDefaultKDF runs the login with the default KDF and
// the server's default floors, and compares a decoy with the real block.
func TestLoginWithPasswordDefaultKDF(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{KDFFloors: ptr(kdf.DefaultFloors())}, generous)
	ctx := t.Context()
	c := e.client(false)
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := c.Connect(ctx, k, e.app)
	require.NoError(t, err)
	_, err = c.AddIdentifier(ctx, res.Session, attesta.Nickname, "alice")
	require.NoError(t, err)
	block := seal(t, res.PartyID, kdf.Default(), k)
	_, err = c.PutRegistry(ctx, res.Session, block, 0)
	require.NoError(t, err)

	l, err := e.client(true).LoginWithPassword(ctx, e.app, "Alice", password)
	require.NoError(t, err)
	assert.False(t, l.Session.IsNew)
	assert.Equal(t, res.PartyID, l.Session.PartyID)
	assert.Equal(t, k.Pack(), l.Keys[0].Pack())
	assert.Greater(t, l.KDFTime, time.Millisecond, "the default KDF is not free")

	// The decoy of an unknown login is shaped like the real block of a
	// known one: same length, same header but for the salt, same version.
	genuine, err := c.GetRegistry(ctx, "alice")
	require.NoError(t, err)
	decoy, err := c.GetRegistry(ctx, "bob the builder")
	require.NoError(t, err)
	assert.Len(t, decoy.Registry, len(genuine.Registry))
	assert.Equal(t, genuine.Version, decoy.Version)
	rh, err := registry.Inspect(genuine.Registry)
	require.NoError(t, err)
	dh, err := registry.Inspect(decoy.Registry)
	require.NoError(t, err)
	assert.Equal(t, rh.Version, dh.Version)
	assert.Equal(t, rh.KDF.String(), dh.KDF.String())
	assert.Len(t, dh.KDF.Salt(), len(rh.KDF.Salt()))
	assert.NotEqual(t, rh.KDF.Salt(), dh.KDF.Salt())

	// The decoy opens with no password: the answer is the wrong password's.
	_, err = c.LoginWithPassword(ctx, e.app, "bob the builder", password)
	assert.ErrorIs(t, err, registry.ErrWrongPassword)
}

func ptr[T any](v T) *T { return &v }

// TestDecoy checks the fetch of a login without a registry behind it:
// 200, a well-formed block with the default KDF, the same on every call
// and for every spelling of the login, different for another login.
func TestDecoy(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := e.client(false).Connect(ctx, k, e.app)
	require.NoError(t, err)
	_, err = e.client(false).AddIdentifier(ctx, res.Session, attesta.Nickname, "no registry yet")
	require.NoError(t, err)

	var blocks [][]byte
	for _, login := range []string{"nobody here", "someone@example.org", "+15550109999", "no registry yet"} {
		var first []byte
		for i, spelling := range []string{login, " " + strings.ToUpper(login) + " "} {
			for _, f := range formats {
				got, err := e.client(f.cbor).GetRegistry(ctx, spelling)
				require.NoError(t, err, spelling)
				assert.EqualValues(t, 1, got.Version)
				h, err := registry.Inspect(got.Registry)
				require.NoError(t, err)
				assert.Equal(t, kdf.Default().String(), h.KDF.String())
				if i == 0 && !f.cbor {
					first = got.Registry
					blocks = append(blocks, first)
				} else {
					assert.Equal(t, first, []byte(got.Registry), "a decoy is stable: %q", spelling)
				}
			}
		}
	}
	for i := range blocks {
		for j := range i {
			assert.NotEqual(t, blocks[i], blocks[j])
		}
	}

	// A login fetch does not read Authorization.
	resp := e.do(t, http.MethodGet, "/v1/registry?login=nobody+here", http.Header{"Authorization": {"Bearer nope"}}, nil)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	var got transport.RegistryResponse
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, blocks[0], []byte(got.Registry))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func TestRegistryQuery(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	for _, tc := range []struct {
		query, code string
	}{
		{"login=ab", "bad_identifier"},
		{"login=", "bad_identifier"},
		{"login=a%40b", "bad_identifier"},
		{"login=%2B0123", "bad_identifier"},
		{"login=" + strings.Repeat("a", 2000), "bad_identifier"},
		{"login=alice&login=alice", "bad_request"},
		{"login=alice&x=1", "bad_request"},
		{"user=alice", "bad_request"},
		{"login=alice;x", "bad_request"},
		{"login=%zz", "bad_request"},
		{"login", "bad_identifier"},
	} {
		resp := e.do(t, http.MethodGet, "/v1/registry?"+tc.query, nil, nil)
		p, raw := problem(t, resp, http.StatusBadRequest, tc.code)
		assert.NotContains(t, raw, "alice", tc.query)
		if tc.code == "bad_request" {
			assert.NotEmpty(t, p.Detail)
		}
	}
	_, err := e.client(true).GetRegistry(t.Context(), "abc")
	requireProblem(t, err, http.StatusBadRequest, "bad_identifier", attesta.ErrBadIdentifier)
}

// TestRegistryRefusals checks what PUT /v1/registry refuses, under the
// default floors.
func TestRegistryRefusals(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{KDFFloors: ptr(kdf.DefaultFloors())}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := e.client(false).Connect(ctx, k, e.app)
	require.NoError(t, err)
	e.login(t, res.Session)
	auth := "Bearer " + res.Session

	for _, f := range formats {
		c := e.client(f.cbor)
		_, err := c.PutRegistry(ctx, res.Session, seal(t, res.PartyID, cheapKDF(t), k), 0)
		p := requireProblem(t, err, http.StatusBadRequest, "kdf_too_weak", attesta.ErrKDFTooWeak)
		assert.NotContains(t, p.Title+p.Detail, "64", "no parameter is echoed")
		_, err = c.PutRegistry(ctx, res.Session, []byte("not a block"), 0)
		requireProblem(t, err, http.StatusBadRequest, "bad_registry", attesta.ErrBadRegistry)
		_, err = c.PutRegistry(ctx, res.Session, nil, 0)
		requireProblem(t, err, http.StatusBadRequest, "bad_registry", attesta.ErrBadRegistry)
		_, err = c.PutRegistry(ctx, res.Session, make([]byte, registry.MaxBlockSize+1), 0)
		requireProblem(t, err, http.StatusRequestEntityTooLarge, "too_large", attesta.ErrRegistryTooLarge)
		assert.ErrorIs(t, err, transport.ErrTooLarge)
		_, err = c.PutRegistry(ctx, res.Session, make([]byte, 200<<10), 0)
		requireProblem(t, err, http.StatusRequestEntityTooLarge, "too_large", attesta.ErrRegistryTooLarge)
		_, err = c.PutRegistry(ctx, "nope", seal(t, res.PartyID, cheapKDF(t), k), 0)
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
	}

	// The body limit lets a block of registry.MaxBlockSize through in
	// either format (it is then refused as a block, not as a body).
	jsonBody := func(n int) []byte {
		return []byte(fmt.Sprintf(`{"registry":%q,"version":18446744073709551615}`, b64(make([]byte, n))))
	}
	cborBody := func(n int) []byte {
		return mustCBOR(t, map[string]any{"registry": make([]byte, n), "version": uint64(1<<64 - 1)})
	}
	for _, tc := range []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"json/max", "application/json", jsonBody(registry.MaxBlockSize), 400, "bad_registry"},
		{"cbor/max", "application/cbor", cborBody(registry.MaxBlockSize), 400, "bad_registry"},
		{"json/max+1", "application/json", jsonBody(registry.MaxBlockSize + 1), 413, "too_large"},
		{"json/body over 90 KiB", "application/json", jsonBody(70 << 10), 413, "too_large"},
		{"cbor/body over 90 KiB", "application/cbor", cborBody(91 << 10), 413, "too_large"},
		{"json/missing version", "application/json", []byte(`{"registry":""}`), 400, "bad_request"},
		{"json/negative version", "application/json", []byte(`{"registry":"","version":-1}`), 400, "bad_request"},
	} {
		resp := e.do(t, http.MethodPut, "/v1/registry", http.Header{"Content-Type": {tc.ct}, "Authorization": {auth}}, tc.body)
		problem(t, resp, tc.status, tc.code)
	}
	// Other endpoints keep their 64 KiB limit.
	resp := e.do(t, http.MethodPost, "/v1/identifiers", http.Header{"Content-Type": {"application/json"}, "Authorization": {auth}},
		[]byte(fmt.Sprintf(`{"kind":"nickname","value":%q}`, strings.Repeat("a", 70<<10))))
	problem(t, resp, http.StatusRequestEntityTooLarge, "too_large")

	// A version the party has not got.
	block := seal(t, res.PartyID, kdf.Default(), k)
	_, err = e.client(false).PutRegistry(ctx, res.Session, block, 3)
	requireProblem(t, err, http.StatusConflict, "version_conflict", attesta.ErrVersionConflict)
	v, err := e.client(true).PutRegistry(ctx, res.Session, block, 0)
	require.NoError(t, err)
	assert.EqualValues(t, 1, v)
}

// TestConcurrentRegistryPut puts at one version from many clients at
// once: exactly one put wins.
func TestConcurrentRegistryPut(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := e.client(false).Connect(ctx, k, e.app)
	require.NoError(t, err)
	e.login(t, res.Session)
	block := seal(t, res.PartyID, cheapKDF(t), k)

	for round, version := range []uint64{0, 1} {
		const n = 30
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			results = map[string]int{}
		)
		for i := range n {
			wg.Go(func() {
				c := e.client(i%2 == 1)
				<-start
				v, err := c.PutRegistry(ctx, res.Session, block, version)
				code := "ok"
				if err != nil {
					var p *transport.Problem
					if !assert.ErrorAs(t, err, &p) {
						return
					}
					code = p.Code
				} else {
					assert.Equal(t, version+1, v)
				}
				mu.Lock()
				results[code]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, map[string]int{"ok": 1, "version_conflict": n - 1}, results, "round %d", round)
		own, err := e.client(false).OwnRegistry(ctx, res.Session)
		require.NoError(t, err)
		assert.Equal(t, version+1, own.Version)
	}
}

// TestLoginCeilings checks that the Client refuses KDF parameters above
// its ceilings before it derives anything.
func TestLoginCeilings(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := e.client(false).Connect(ctx, k, e.app)
	require.NoError(t, err)
	_, err = e.client(false).AddIdentifier(ctx, res.Session, attesta.Nickname, "alice")
	require.NoError(t, err)
	params, err := kdf.Argon2idParams(256, 2, 1)
	require.NoError(t, err)
	_, err = e.client(false).PutRegistry(ctx, res.Session, seal(t, res.PartyID, params, k), 0)
	require.NoError(t, err)

	low := kdf.Ceilings{Argon2idMaxMemoryKiB: 128, Argon2idMaxTime: 4, Argon2idMaxThreads: 4}
	c := transport.NewClient(e.srv.URL, transport.WithHTTPClient(e.srv.Client()), transport.WithCeilings(low))
	l, err := c.LoginWithPassword(ctx, e.app, "alice", password)
	assert.Nil(t, l)
	assert.ErrorIs(t, err, kdf.ErrAboveCeiling)
	assert.ErrorIs(t, err, kdf.ErrMemoryAboveCeiling)
	low.Argon2idMaxMemoryKiB = 256
	l, err = transport.NewClient(e.srv.URL, transport.WithHTTPClient(e.srv.Client()), transport.WithCeilings(low)).
		LoginWithPassword(ctx, e.app, "alice", password)
	require.NoError(t, err, "at the ceiling is allowed")
	assert.Equal(t, res.PartyID, l.Session.PartyID)

	// A hostile server serves a block that asks for 4 TiB of memory and
	// 2³² passes. Deriving would never return; the refusal is immediate.
	huge, err := kdf.Argon2idParams(1<<32-1, 1<<32-1, 255)
	require.NoError(t, err)
	block := handMadeBlock(t, huge)
	h, err := registry.Inspect(block)
	require.NoError(t, err, "the block is well formed")
	require.Equal(t, uint32(1<<32-1), h.KDF.MemoryKiB())
	for _, f := range formats {
		hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/registry" || r.URL.Query().Get("login") != "alice" {
				t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(transport.RegistryResponse{Registry: block, Version: 1})
		}))
		defer hostile.Close()
		opts := []transport.ClientOption{transport.WithHTTPClient(hostile.Client())}
		if f.cbor {
			opts = append(opts, transport.WithCBOR())
		}
		// The ceiling error comes from the check before any derivation (a
		// 4 TiB Argon2id run would not return at all); no clock is read.
		l, err := transport.NewClient(hostile.URL, opts...).LoginWithPassword(ctx, "app", "alice", password)
		assert.Nil(t, l)
		assert.ErrorIs(t, err, kdf.ErrAboveCeiling)
		assert.ErrorIs(t, err, kdf.ErrMemoryAboveCeiling)
	}

	// A server answering garbage as a registry.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(transport.RegistryResponse{Registry: []byte("junk"), Version: 1})
	}))
	defer bad.Close()
	_, err = transport.NewClient(bad.URL).LoginWithPassword(ctx, "app", "alice", password)
	assert.ErrorIs(t, err, registry.ErrMalformed)
}

// handMadeBlock encodes a registry block with params, without running the
// KDF (its ciphertext opens under no key).
func handMadeBlock(t *testing.T, params kdf.Params) []byte {
	t.Helper()
	header := mustCBOR(t, []any{uint64(registry.Version), cbor.RawMessage(params.Bytes()), uint64(1), make([]byte, 24)})
	return mustCBOR(t, []any{cbor.RawMessage(header), make([]byte, registry.PadBlock+16)})
}

// TestLoginWithoutKeys opens a registry that holds no key.
func TestLoginWithoutKeys(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	res, err := e.client(false).Connect(ctx, testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	_, err = e.client(false).AddIdentifier(ctx, res.Session, attesta.Nickname, "keyless")
	require.NoError(t, err)
	_, err = e.client(false).PutRegistry(ctx, res.Session, seal(t, res.PartyID, cheapKDF(t)), 0)
	require.NoError(t, err)
	l, err := e.client(false).LoginWithPassword(ctx, e.app, "keyless", password)
	assert.Nil(t, l)
	assert.ErrorIs(t, err, transport.ErrNoKey)

	// A registry whose key is not a private key.
	pt := registry.Plaintext{PartyID: res.PartyID, Keys: [][]byte{testkeys.Key(t, attesta.X25519, 0).Public().Pack()}}
	block, err := registry.Seal(ctx, pt, password, cheapKDF(t))
	require.NoError(t, err)
	_, err = e.client(false).PutRegistry(ctx, res.Session, block, 1)
	require.NoError(t, err)
	_, err = e.client(false).LoginWithPassword(ctx, e.app, "keyless", password)
	assert.ErrorIs(t, err, attesta.ErrBadKey)
}

// TestIdentifierErrors checks the codes of every identifier refusal.
func TestIdentifierErrors(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	connect := func(i int, cbor bool) (string, *transport.Client) {
		c := e.client(cbor)
		res, err := c.Connect(ctx, testkeys.Key(t, attesta.X25519, i), e.app)
		require.NoError(t, err)
		return res.Session, c
	}
	a, ca := connect(0, false)
	b, cb := connect(1, true)

	_, err := ca.AddIdentifier(ctx, a, attesta.Nickname, "abc")
	requireProblem(t, err, http.StatusBadRequest, "bad_identifier", attesta.ErrBadIdentifier)
	_, err = cb.AddIdentifier(ctx, b, attesta.Email, "alice@example")
	requireProblem(t, err, http.StatusBadRequest, "bad_identifier", attesta.ErrBadIdentifier)
	_, err = ca.AddIdentifier(ctx, a, attesta.Phone, "+0555")
	requireProblem(t, err, http.StatusBadRequest, "bad_identifier", attesta.ErrBadIdentifier)
	_, err = ca.AddIdentifier(ctx, a, "handle", "alice")
	requireProblem(t, err, http.StatusBadRequest, "unknown_identifier_kind", attesta.ErrUnknownIdentifierKind)
	err = ca.RemoveIdentifier(ctx, a, "", "alice")
	requireProblem(t, err, http.StatusBadRequest, "unknown_identifier_kind", attesta.ErrUnknownIdentifierKind)

	// Nicknames: taken, too many, not found, quarantined.
	_, err = ca.AddIdentifier(ctx, a, attesta.Nickname, "Alice")
	require.NoError(t, err)
	_, err = cb.AddIdentifier(ctx, b, attesta.Nickname, "ALICE ")
	requireProblem(t, err, http.StatusConflict, "identifier_taken", attesta.ErrIdentifierTaken)
	for i := range attesta.MaxNicknames - 1 {
		_, err = ca.AddIdentifier(ctx, a, attesta.Nickname, fmt.Sprintf("alice %d", i))
		require.NoError(t, err)
	}
	_, err = ca.AddIdentifier(ctx, a, attesta.Nickname, "alice again")
	requireProblem(t, err, http.StatusConflict, "too_many_identifiers", attesta.ErrTooManyIdentifiers)
	err = ca.RemoveIdentifier(ctx, a, attesta.Nickname, "nobody")
	requireProblem(t, err, http.StatusNotFound, "identifier_not_found", attesta.ErrIdentifierNotFound)
	err = cb.RemoveIdentifier(ctx, b, attesta.Nickname, "alice")
	requireProblem(t, err, http.StatusNotFound, "identifier_not_found", attesta.ErrIdentifierNotFound)
	require.NoError(t, ca.RemoveIdentifier(ctx, a, attesta.Nickname, "alice"))
	_, err = cb.AddIdentifier(ctx, b, attesta.Nickname, "alice")
	requireProblem(t, err, http.StatusConflict, "identifier_taken", attesta.ErrIdentifierTaken)

	// Codes.
	err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", "123456")
	requireProblem(t, err, http.StatusBadRequest, "code_unknown", attesta.ErrCodeUnknown)
	err = ca.ConfirmIdentifier(ctx, a, attesta.Nickname, "alice 0", "123456")
	requireProblem(t, err, http.StatusBadRequest, "code_unknown", attesta.ErrCodeUnknown)
	err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "nope", "123456")
	requireProblem(t, err, http.StatusBadRequest, "bad_identifier", attesta.ErrBadIdentifier)
	st, err := ca.AddIdentifier(ctx, a, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	require.Equal(t, attesta.StatusPending, st)
	code := e.code(t, "alice@example.com")
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
	for range 4 {
		err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", wrong)
		p := requireProblem(t, err, http.StatusBadRequest, "wrong_code", attesta.ErrWrongCode)
		assert.NotContains(t, p.Title+p.Detail, code)
	}
	err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", wrong)
	requireProblem(t, err, http.StatusBadRequest, "code_tries_exhausted", attesta.ErrCodeTriesExhausted)
	err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", code)
	requireProblem(t, err, http.StatusBadRequest, "code_unknown", attesta.ErrCodeUnknown)

	// A new code; confirmed, the email is A's: B may start a verification
	// (the answer does not say it is taken) but not complete it.
	_, err = ca.AddIdentifier(ctx, a, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	require.NoError(t, ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", e.code(t, "alice@example.com")))
	st, err = ca.AddIdentifier(ctx, a, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusActive, st)
	st, err = cb.AddIdentifier(ctx, b, attesta.Email, "ALICE@example.com")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusPending, st)
	err = cb.ConfirmIdentifier(ctx, b, attesta.Email, "alice@example.com", e.code(t, "alice@example.com"))
	requireProblem(t, err, http.StatusConflict, "identifier_taken", attesta.ErrIdentifierTaken)

	// At most MaxVerified emails and phones, pending ones included.
	for i := range attesta.MaxVerified {
		_, err = cb.AddIdentifier(ctx, b, attesta.Phone, fmt.Sprintf("+1555010000%d", i))
		require.NoError(t, err)
	}
	_, err = cb.AddIdentifier(ctx, b, attesta.Phone, "+15550109999")
	requireProblem(t, err, http.StatusConflict, "too_many_identifiers", attesta.ErrTooManyIdentifiers)

	// Malformed bodies.
	auth := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + a}}
	for path, body := range map[string]string{
		"/v1/identifiers":         `{"kind":"nickname"}`,
		"/v1/identifiers/confirm": `{"kind":"email","value":"alice@example.com"}`,
	} {
		problem(t, e.do(t, http.MethodPost, path, auth, []byte(body)), http.StatusBadRequest, "bad_request")
	}
	problem(t, e.do(t, http.MethodDelete, "/v1/identifiers", auth, []byte(`{"kind":"nickname","value":"x","code":"1"}`)), http.StatusBadRequest, "bad_request")
	problem(t, e.do(t, http.MethodDelete, "/v1/identifiers", auth, nil), http.StatusBadRequest, "bad_request")

	// Confirm and delete answer 204 without a body.
	_, err = ca.AddIdentifier(ctx, a, attesta.Phone, "+15550101234")
	require.NoError(t, err)
	resp := e.do(t, http.MethodPost, "/v1/identifiers/confirm", auth,
		[]byte(`{"kind":"phone","value":"+15550101234","code":"`+e.code(t, "+15550101234")+`"}`))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp = e.do(t, http.MethodDelete, "/v1/identifiers", auth, []byte(`{"kind":"phone","value":"+1 555 010 1234"}`))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Empty(t, raw)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestCodeExpired(t *testing.T) {
	clk := newFakeClock()
	e := newPasswordEnv(t, attesta.Config{Now: clk.Now}, generous)
	ctx := t.Context()
	c := e.client(true)
	res, err := c.Connect(ctx, testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	_, err = c.AddIdentifier(ctx, res.Session, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	clk.add(10*time.Minute + time.Second) // a code lasts 10 minutes
	err = c.ConfirmIdentifier(ctx, res.Session, attesta.Email, "alice@example.com", e.code(t, "alice@example.com"))
	requireProblem(t, err, http.StatusGone, "code_expired", attesta.ErrCodeExpired)
}

func TestNoNotifier(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	c := e.client(false)
	res, err := c.Connect(ctx, testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	for kind, v := range map[attesta.IdentifierKind]string{attesta.Email: "alice@example.com", attesta.Phone: "+15550109999"} {
		_, err = c.AddIdentifier(ctx, res.Session, kind, v)
		requireProblem(t, err, http.StatusNotImplemented, "no_notifier", attesta.ErrNoNotifier)
	}
	st, err := c.AddIdentifier(ctx, res.Session, attesta.Nickname, "alice")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusActive, st)
}

// TestPasswordUnauthenticated sends every authenticated password endpoint
// a missing or refused session.
func TestPasswordUnauthenticated(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	eps := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/identifiers", `{"kind":"nickname","value":"alice"}`},
		{http.MethodPost, "/v1/identifiers/confirm", `{"kind":"email","value":"a@b.c","code":"123456"}`},
		{http.MethodDelete, "/v1/identifiers", `{"kind":"nickname","value":"alice"}`},
		{http.MethodPut, "/v1/registry", `{"registry":"","version":0}`},
		{http.MethodGet, "/v1/registry", ``},
	}
	for _, ep := range eps {
		for name, h := range map[string]http.Header{
			"missing": {},
			"refused": {"Authorization": {"Bearer nope"}},
			"app":     {"Authorization": {"Bearer " + e.app}},
		} {
			if ep.body != "" {
				h.Set("Content-Type", "application/json")
			}
			resp := e.do(t, ep.method, ep.path, h, []byte(ep.body))
			problem(t, resp, http.StatusUnauthorized, "unauthorized")
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", "%s %s %s", ep.method, ep.path, name)
		}
	}
	for _, f := range formats {
		c := e.client(f.cbor)
		_, err := c.AddIdentifier(ctx, "", attesta.Nickname, "alice")
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		err = c.ConfirmIdentifier(ctx, "nope", attesta.Email, "a@b.c", "123456")
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		err = c.RemoveIdentifier(ctx, "nope", attesta.Nickname, "alice")
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		_, err = c.PutRegistry(ctx, "", []byte("x"), 0)
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		_, err = c.OwnRegistry(ctx, "")
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
	}
}

// fakeClock is a clock a test moves by hand, for the handler's limits and
// the Service's budgets alike.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// proxied is a HandlerConfig that believes X-Forwarded-For from the test's
// own client (127.0.0.1), so that one test can speak from many addresses.
func proxied(hcfg transport.HandlerConfig) transport.HandlerConfig {
	hcfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	return hcfg
}

// from is a request header that names the client address addr.
func from(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

// TestRegistryRateLimits checks the limits of the login fetch (finding 4
// of issue 14): per login and address, whatever its spelling and whether
// it exists, so that an attacker's fetches from its address do not make
// the owner wait at another; per address; and a durable cap per login
// over every address.
func TestRegistryRateLimits(t *testing.T) {
	clock := newFakeClock()
	hcfg := proxied(generous)
	hcfg.LoginPerIdentifierAndAddress = transport.Limit{Burst: 2, Every: time.Hour}
	budgets := generousBudgets
	budgets.RegistryFetchesPerLogin = transport.Limit{Burst: 6, Every: time.Hour}
	e := newPasswordEnv(t, attesta.Config{Now: clock.Now, Limits: budgets}, hcfg)
	transport.SetNow(t, e.h, clock.Now)
	ctx := t.Context()
	c := e.client(false)
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := c.Connect(ctx, k, e.app)
	require.NoError(t, err)
	_, err = c.AddIdentifier(ctx, res.Session, attesta.Nickname, "alice")
	require.NoError(t, err)
	_, err = c.PutRegistry(ctx, res.Session, seal(t, res.PartyID, cheapKDF(t), k), 0)
	require.NoError(t, err)
	get := func(addr, login string) *http.Response {
		return e.do(t, http.MethodGet, "/v1/registry?"+url.Values{"login": {login}}.Encode(), from(addr), nil)
	}

	for _, login := range []string{"alice", "nobody"} { // one known, one unknown: the same
		for range 2 {
			assert.Equal(t, http.StatusOK, get("203.0.113.66", login).StatusCode)
		}
		for _, spelling := range []string{login, strings.ToUpper(login), " " + login} {
			resp := get("203.0.113.66", spelling)
			problem(t, resp, http.StatusTooManyRequests, "rate_limited")
			assert.Equal(t, "3600", resp.Header.Get("Retry-After"))
		}
		// The owner, elsewhere, is not limited by the attacker's fetches.
		assert.Equal(t, http.StatusOK, get("198.51.100.1", login).StatusCode, "another address")
	}
	// Over every address, the login's durable budget: 6, then one an hour, for a
	// known and an unknown login alike (3 used each so far).
	for _, login := range []string{"alice", "nobody"} {
		for i := range 3 {
			assert.Equal(t, http.StatusOK, get(fmt.Sprintf("198.51.100.%d", 10+i), login).StatusCode)
		}
		resp := get("198.51.100.20", login)
		problem(t, resp, http.StatusTooManyRequests, "rate_limited")
		assert.Equal(t, "3600", resp.Header.Get("Retry-After"), "then one fetch an hour")
	}
	// Other logins have buckets of their own; a malformed one takes no
	// token of any login's.
	assert.Equal(t, http.StatusOK, get("203.0.113.66", "carol").StatusCode)
	problem(t, get("203.0.113.66", "ab"), http.StatusBadRequest, "bad_identifier")
	// The party's own fetch is not limited.
	for range 3 {
		_, err = c.OwnRegistry(ctx, res.Session)
		require.NoError(t, err)
	}

	// Per address.
	hcfg = proxied(generous)
	hcfg.LoginPerAddress = transport.Limit{Burst: 3, Every: 20 * time.Second}
	e = newPasswordEnv(t, attesta.Config{Now: clock.Now}, hcfg)
	transport.SetNow(t, e.h, clock.Now)
	for i := range 3 {
		assert.Equal(t, http.StatusOK, get("203.0.113.1", fmt.Sprintf("login%d", i)).StatusCode)
	}
	resp := get("203.0.113.1", "login9")
	problem(t, resp, http.StatusTooManyRequests, "rate_limited")
	assert.Equal(t, "20", resp.Header.Get("Retry-After"), "one token every 20 s")
	problem(t, get("203.0.113.1", "ab"), http.StatusTooManyRequests, "rate_limited") // before the login is read
	assert.Equal(t, http.StatusOK, get("203.0.113.2", "login0").StatusCode, "another address")
	clock.add(20 * time.Second)
	assert.Equal(t, http.StatusOK, get("203.0.113.1", "login9").StatusCode, "refilled")
}

// TestIdentifierRateLimits checks the limits of code confirmation and of
// adding identifiers: per party and per address in the handler, and the
// Service's durable budgets (finding 4 of issue 14: wrong codes from one
// party do not stop another from confirming the same email).
func TestIdentifierRateLimits(t *testing.T) {
	clock := newFakeClock()
	hcfg := generous
	hcfg.ConfirmPerParty = transport.Limit{Burst: 3, Every: time.Hour}
	hcfg.AddPerParty = transport.Limit{Burst: 2, Every: time.Hour}
	e := newPasswordEnv(t, attesta.Config{MaxCodeTries: 100, Now: clock.Now}, hcfg)
	transport.SetNow(t, e.h, clock.Now)
	ctx := t.Context()
	connect := func(i int) (string, *transport.Client) {
		c := e.client(i%2 == 1)
		res, err := c.Connect(ctx, testkeys.Key(t, attesta.X25519, i), e.app)
		require.NoError(t, err)
		return res.Session, c
	}
	a, ca := connect(0)
	b, cb := connect(1)
	_, err := ca.AddIdentifier(ctx, a, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	code := e.code(t, "alice@example.com")
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
	for range 3 {
		err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", wrong)
		requireProblem(t, err, http.StatusBadRequest, "wrong_code", attesta.ErrWrongCode)
	}
	err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", code)
	p := requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	assert.Equal(t, time.Hour, p.RetryAfter)
	// Another session of the same party shares the party's bucket.
	again, err := ca.Connect(ctx, testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	err = ca.ConfirmIdentifier(ctx, again.Session, attesta.Email, "alice@example.com", code)
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	// Another party has its own, even for the same email: B asks for a
	// code (a minute later: the destination's cooldown) and confirms it.
	clock.add(time.Minute)
	_, err = cb.AddIdentifier(ctx, b, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	require.NoError(t, cb.ConfirmIdentifier(ctx, b, attesta.Email, "Alice@Example.com", e.code(t, "alice@example.com")))

	// Adding: A has added once; one more, then refused.
	_, err = ca.AddIdentifier(ctx, a, attesta.Nickname, "alice")
	require.NoError(t, err)
	_, err = ca.AddIdentifier(ctx, a, attesta.Nickname, "alice")
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)

	// Per address, each endpoint counted apart.
	hcfg = generous
	hcfg.IdentifierPerAddress = transport.Limit{Burst: 2, Every: time.Hour}
	e = newPasswordEnv(t, attesta.Config{}, hcfg)
	a, ca = connect(0)
	b, cb = connect(1)
	err = ca.ConfirmIdentifier(ctx, a, attesta.Email, "alice@example.com", "000000")
	requireProblem(t, err, http.StatusBadRequest, "code_unknown", attesta.ErrCodeUnknown)
	err = cb.ConfirmIdentifier(ctx, b, attesta.Email, "bob@example.com", "000000")
	requireProblem(t, err, http.StatusBadRequest, "code_unknown", attesta.ErrCodeUnknown)
	err = cb.ConfirmIdentifier(ctx, b, attesta.Email, "bob@example.com", "000000")
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	resp := e.do(t, http.MethodPost, "/v1/identifiers/confirm", nil, nil)
	problem(t, resp, http.StatusTooManyRequests, "rate_limited") // before authentication
	for range 2 {
		_, err = cb.AddIdentifier(ctx, b, attesta.Nickname, "bobby")
		require.NoError(t, err)
	}
	_, err = ca.AddIdentifier(ctx, a, attesta.Nickname, "alice")
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
}

// TestCodeBombing is finding 5 of issue 14 over HTTP: three parties
// adding one victim's email ten times each send it one code, and the
// refusals say when to try again.
func TestCodeBombing(t *testing.T) {
	clock := newFakeClock()
	budgets := generousBudgets // but the server's default per destination:
	budgets.CodeSendCooldown = transport.Limit{Burst: 1, Every: time.Minute}
	budgets.CodeSendsPerDestination = transport.Limit{Burst: 5, Every: 24 * time.Hour / 5}
	e := newPasswordEnv(t, attesta.Config{Now: clock.Now, Limits: budgets}, generous)
	ctx := t.Context()
	var sessions []string
	for i := range 3 {
		res, err := e.client(false).Connect(ctx, testkeys.Key(t, attesta.X25519, i), e.app)
		require.NoError(t, err)
		sessions = append(sessions, res.Session)
	}
	sent := 0
	for range 10 {
		for _, s := range sessions {
			_, err := e.client(false).AddIdentifier(ctx, s, attesta.Email, "victim@example.org")
			if err == nil {
				sent++
				continue
			}
			p := requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", attesta.ErrBudgetExhausted)
			assert.Equal(t, time.Minute, p.RetryAfter)
		}
	}
	assert.Equal(t, 1, sent)
	codes, err := outbox.Codes(e.outbox, "victim@example.org")
	require.NoError(t, err)
	assert.Len(t, codes, 1)
}

// TestStorageBounds is finding 9 of issue 14: a registry needs a login
// identifier, and registry writes and new parties are limited per address.
func TestStorageBounds(t *testing.T) {
	hcfg := proxied(generous)
	hcfg.RegistryPutPerAddress = transport.Limit{Burst: 2, Every: time.Hour}
	hcfg.NewPartiesPerAddress = transport.Limit{Burst: 3, Every: time.Hour}
	e := newPasswordEnv(t, attesta.Config{}, hcfg)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := e.client(false).Connect(ctx, k, e.app)
	require.NoError(t, err)
	block := seal(t, res.PartyID, cheapKDF(t), k)
	_, err = e.client(false).PutRegistry(ctx, res.Session, block, 0)
	requireProblem(t, err, http.StatusConflict, "no_identifier", attesta.ErrNoIdentifier)
	_, err = e.client(false).AddIdentifier(ctx, res.Session, attesta.Nickname, "alice")
	require.NoError(t, err)
	_, err = e.client(false).PutRegistry(ctx, res.Session, block, 0)
	require.NoError(t, err)
	_, err = e.client(false).PutRegistry(ctx, res.Session, block, 1)
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)

	// New parties from one address (three so far, from 127.0.0.1 which
	// is also the proxy: the connects above named no address).
	connectFrom := func(addr string, i int) error {
		c := transport.NewClient(e.srv.URL, transport.WithHTTPClient(&http.Client{Transport: headerTransport{from(addr)}}))
		_, err := c.Connect(ctx, testkeys.Key(t, attesta.X25519, i), e.app)
		return err
	}
	for i := 1; i <= 3; i++ {
		require.NoError(t, connectFrom("203.0.113.7", i))
	}
	err = connectFrom("203.0.113.7", 0)
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	require.NoError(t, connectFrom("203.0.113.8", 0), "another address")
}

// headerTransport adds headers to every request.
type headerTransport struct{ h http.Header }

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.h {
		r.Header[k] = vs
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestPartyIdentifiersWire checks the JSON form of the party's
// identifiers: an empty list is [], and a pending one has no "added".
func TestPartyIdentifiersWire(t *testing.T) {
	clk := newFakeClock()
	e := newPasswordEnv(t, attesta.Config{Now: clk.Now}, generous)
	ctx := t.Context()
	c := e.client(false)
	res, err := c.Connect(ctx, testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	get := func(accept string) []byte {
		resp := e.do(t, http.MethodGet, "/v1/party", http.Header{"Authorization": {"Bearer " + res.Session}, "Accept": {accept}}, nil)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return raw
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(get("application/json"), &m))
	assert.Equal(t, []any{}, m["identifiers"])

	_, err = c.AddIdentifier(ctx, res.Session, attesta.Phone, "+1 555 010 9999")
	require.NoError(t, err)
	_, err = c.AddIdentifier(ctx, res.Session, attesta.Nickname, "Zoë Zebra")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(get("application/json"), &m))
	ids := m["identifiers"].([]any)
	require.Len(t, ids, 2)
	assert.Equal(t, "nickname", ids[0].(map[string]any)["kind"])
	assert.Equal(t, "zo***", ids[0].(map[string]any)["hint"])
	assert.Equal(t, false, ids[0].(map[string]any)["pending"])
	added, err := time.Parse(time.RFC3339, ids[0].(map[string]any)["added"].(string))
	require.NoError(t, err)
	assert.True(t, clk.Now().Equal(added), "added %v at %v", added, clk.Now())
	assert.Equal(t, map[string]any{"kind": "phone", "hint": "+***99", "pending": true}, ids[1])

	var p transport.PartyResponse
	require.NoError(t, cborx.Decode(get("application/cbor"), &p))
	require.Len(t, p.Identifiers, 2)
	assert.True(t, p.Identifiers[1].Pending)
	assert.True(t, p.Identifiers[1].Added.IsZero())
}

// TestRegistryJSONWire checks the JSON form of the registry endpoints.
func TestRegistryJSONWire(t *testing.T) {
	e := newPasswordEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := e.client(false).Connect(ctx, k, e.app)
	require.NoError(t, err)
	e.login(t, res.Session)
	block := seal(t, res.PartyID, cheapKDF(t), k)
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + res.Session}}
	resp := e.do(t, http.MethodPut, "/v1/registry", h, []byte(`{"registry":"`+base64.RawURLEncoding.EncodeToString(block)+`","version":0}`))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	assert.JSONEq(t, `{"version":1}`, string(raw))

	resp = e.do(t, http.MethodGet, "/v1/registry", http.Header{"Authorization": {"Bearer " + res.Session}}, nil)
	raw, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"registry":"`+base64.RawURLEncoding.EncodeToString(block)+`","version":1}`, string(raw))

	// The whole 64 KiB block fits in the answer, in both formats.
	big := registry.Plaintext{PartyID: res.PartyID, Keys: [][]byte{k.Pack()}, AppData: map[string][]byte{"big": bytes.Repeat([]byte{1}, 56<<10)}}
	block, err = registry.Seal(ctx, big, password, cheapKDF(t))
	require.NoError(t, err)
	require.Greater(t, len(block), 60<<10, "a block of 15 buckets")
	for i, f := range formats {
		c := e.client(f.cbor)
		v, err := c.PutRegistry(ctx, res.Session, block, uint64(i+1))
		require.NoError(t, err)
		own, err := c.OwnRegistry(ctx, res.Session)
		require.NoError(t, err)
		assert.Equal(t, block, []byte(own.Registry))
		assert.Equal(t, v, own.Version)
	}
}
