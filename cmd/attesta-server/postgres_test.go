package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/pgtest"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// TestTwoServersOnePostgres runs two attesta-server processes (the
// binary) on one PostgreSQL database, with one secret file and a data
// directory each, and checks that they act as one server: a challenge
// asked of one is redeemed on the other; of 100 concurrent redemptions of
// one token spread over both, one succeeds; of concurrent registry writes
// of one version spread over both, one wins; a durable budget (the
// registry fetches of one login) holds across both; the app commands work
// on the database while the servers run.
//
// Requests are spread over loopback source addresses (Linux routes
// 127.0.0.0/8 to lo), so that the servers' per-address limits, which are
// per process by design, never answer before the store does.
func TestTwoServersOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: does not build and run the attesta-server binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("spreads clients over 127.0.0.0/8, which only Linux routes to the loopback interface")
	}
	dsn, _ := pgtest.DSN(t)
	exe := buildServer(t)
	ctx := t.Context()
	secret := filepath.Join(t.TempDir(), "secret")
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")

	a := startServerArgs(t, exe, "-data", dirA, "-store", dsn, "-secret", secret)
	assert.Contains(t, a.stderr.String(), "created the server secret")
	// The second server takes its store from $ATTESTA_STORE.
	t.Setenv(storeEnv, dsn)
	b := startServerArgs(t, exe, "-data", dirB, "-secret", secret)
	assert.NotContains(t, b.stderr.String(), "created the server secret")
	raw, err := os.ReadFile(filepath.Join(dirA, demoTokenFile))
	require.NoError(t, err)
	token := strings.TrimSpace(string(raw))
	_, err = os.Stat(filepath.Join(dirB, demoTokenFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "the second server found the demo application made")
	for _, s := range []*server{a, b} {
		assert.NotContains(t, s.stderr.String(), "postgres://", "the DSN is not logged")
	}
	ca, cb := spreadClients(t, a.url, 16), spreadClients(t, b.url, 16)
	both := func(i int) *transport.Client {
		if i%2 == 0 {
			return ca[(i/2)%len(ca)]
		}
		return cb[(i/2)%len(cb)]
	}

	// A challenge from A, redeemed on B; B's session works on A.
	key := testkeys.Key(t, attesta.X25519, 0)
	tok := challenge(t, ca[0], key, token)
	first, err := cb[0].AuthKeyToken(ctx, tok)
	require.NoError(t, err)
	assert.True(t, first.IsNew)
	p, err := ca[1].Party(ctx, first.Session)
	require.NoError(t, err)
	assert.Equal(t, first.PartyID, p.PartyID)
	again, err := ca[2].Connect(ctx, key, token)
	require.NoError(t, err)
	assert.False(t, again.IsNew, "A knows the key B registered")
	assert.Equal(t, first.PartyID, again.PartyID)

	// 100 redemptions of one token at once, over both servers.
	tok = challenge(t, cb[1], testkeys.Key(t, attesta.X25519, 1), token)
	codes := race(100, func(i int) error {
		_, err := both(i).AuthKeyToken(ctx, tok)
		return err
	})
	assert.Equal(t, map[string]int{"": 1, "challenge_unknown": 99}, codes, "one redemption of a token wins")

	// Registry writes of one version at once, over both servers.
	params, err := kdf.Argon2idParams(19<<10, 2, 1) // the default floor
	require.NoError(t, err)
	block, err := registry.Seal(ctx, registry.Plaintext{PartyID: first.PartyID, Keys: [][]byte{key.Pack()}}, []byte("pw"), params)
	require.NoError(t, err)
	_, err = cb[2].AddIdentifier(ctx, first.Session, attesta.Nickname, "two servers")
	require.NoError(t, err)
	v, err := ca[3].PutRegistry(ctx, first.Session, block, 0)
	require.NoError(t, err)
	require.Equal(t, uint64(1), v)
	codes = race(20, func(i int) error {
		_, err := both(i).PutRegistry(ctx, again.Session, block, 1)
		return err
	})
	assert.Equal(t, map[string]int{"": 1, "version_conflict": 19}, codes, "one write of a version wins")
	own, err := cb[3].OwnRegistry(ctx, first.Session)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), own.Version)

	// The registry fetches of one login: a durable budget of 30 for all
	// addresses and servers together (attesta.Limits), 64 fetches at once
	// over 32 address and server pairs (2 each: below every per-process
	// bucket).
	codes = race(64, func(i int) error {
		_, err := both(i).GetRegistry(ctx, "nobody in particular")
		return err
	})
	assert.Equal(t, map[string]int{"": 30, "rate_limited": 34}, codes, "the login's budget holds across both servers")

	// The app commands, on the database, while both servers run.
	code, stdout, stderr := runBinary(t, exe, "app", "create", "shop", "-store", dsn, "-data", filepath.Join(t.TempDir(), "none"))
	require.Equal(t, 0, code, stderr)
	shop := strings.TrimSpace(stdout)
	_, err = cb[4].Connect(ctx, testkeys.Key(t, attesta.X25519, 2), shop)
	require.NoError(t, err, "B takes the token of an app created on the database")
	code, stdout, stderr = runBinary(t, exe, "app", "list", "-store", dsn, "-secret", secret)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^demo\s+active\s`, stdout)
	assert.Regexp(t, `(?m)^shop\s+active\s`, stdout)

	// A third server without the shared secret is refused: its tokens
	// and identifier hashes would match nobody else's.
	code, _, stderr = runBinary(t, exe, "-data", filepath.Join(t.TempDir(), "c"), "-store", dsn, "-addr", "127.0.0.1:0")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the database holds data already")

	assert.Equal(t, 0, a.stop(t, os.Interrupt))
	assert.Equal(t, 0, b.stop(t, os.Interrupt))
}

func challenge(t *testing.T, c *transport.Client, k *attesta.PrivateKey, appToken string) []byte {
	t.Helper()
	res, err := c.AuthKeyRequest(t.Context(), k.Public().Pack(), appToken)
	require.NoError(t, err)
	tok, err := k.DecryptToken(res.EncryptedToken)
	require.NoError(t, err)
	return tok
}

// sourceNet numbers the address blocks spreadClients hands out, so that
// no two sets share an address.
var sourceNet atomic.Uint32

// spreadClients returns n clients of url, each from its own loopback
// source address.
func spreadClients(t *testing.T, url string, n int) []*transport.Client {
	block := byte(sourceNet.Add(1))
	var cs []*transport.Client
	for i := range n {
		local := &net.TCPAddr{IP: net.IPv4(127, 103, block, byte(i+1))}
		tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}).DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		cs = append(cs, transport.NewClient(url, transport.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second})))
	}
	return cs
}

// race runs f(0) … f(n-1) at once and counts their outcomes by problem
// code ("" for success).
func race(n int, f func(i int) error) map[string]int {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
		out   = map[string]int{}
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := f(i)
			code := ""
			if p := (*transport.Problem)(nil); errors.As(err, &p) {
				code = p.Code
			} else if err != nil {
				code = fmt.Sprintf("error %v", err)
			}
			mu.Lock()
			out[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return out
}
