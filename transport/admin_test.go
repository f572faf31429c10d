package transport_test

import (
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// TestAdminSocket manages applications of a running server through its
// administration API on a Unix socket (finding 11 of issue 14: revoking a
// leaked token no longer needs the server stopped).
func TestAdminSocket(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	admin := serveAdmin(t, e.svc)

	token, err := admin.CreateApp(ctx, "shop")
	require.NoError(t, err)
	res, err := e.client(false).Connect(ctx, testkeys.Key(t, attesta.X25519, 0), token)
	require.NoError(t, err, "the new token works on the running server at once")
	_, err = admin.CreateApp(ctx, "shop")
	requireProblem(t, err, http.StatusConflict, "app_exists", attesta.ErrAppExists)
	_, err = admin.CreateApp(ctx, "Bad Name")
	requireProblem(t, err, http.StatusBadRequest, "bad_app_name", attesta.ErrBadAppName)

	apps, err := admin.Apps(ctx)
	require.NoError(t, err)
	require.Len(t, apps, 2)
	assert.Equal(t, "shop", apps[0].Name)
	assert.True(t, apps[0].Revoked.IsZero())

	require.NoError(t, admin.RevokeApp(ctx, "shop"))
	_, err = e.client(false).Party(ctx, res.Session)
	requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
	_, err = e.client(false).AuthKeyRequest(ctx, testkeys.Key(t, attesta.X25519, 1).Public().Pack(), token)
	requireProblem(t, err, http.StatusUnauthorized, "bad_app_token", attesta.ErrBadAppToken)
	err = admin.RevokeApp(ctx, "nope")
	requireProblem(t, err, http.StatusNotFound, "app_not_found", attesta.ErrAppNotFound)
	apps, err = admin.Apps(ctx)
	require.NoError(t, err)
	assert.False(t, apps[0].Revoked.IsZero())
}

// serveAdmin serves the administration API of svc on a Unix socket of
// the test's and returns a client of it.
func serveAdmin(t *testing.T, svc *attesta.Service) *transport.AdminClient {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	ah, err := transport.NewAdminHandler(svc, nil)
	require.NoError(t, err)
	srv := &http.Server{Handler: ah}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return transport.NewAdminClient(sock)
}
