package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

// The administration socket: a running server serves transport's
// administration API on a Unix socket in its data directory, mode 0600,
// so that the app commands (and later ones) work while it runs, and only
// the server's own user can reach it. The socket is the whole access
// control: there is no token to leak.

// adminSocketPath is where the socket of a server on dataDir lives: the
// -admin-socket flag, else DATA/admin.sock; "" when it is off.
func adminSocketPath(cfg serverConfig) string {
	switch cfg.adminSocket {
	case "off":
		return ""
	case "":
		return filepath.Join(cfg.dataDir, adminSocketFile)
	}
	return cfg.adminSocket
}

// adminServer serves the administration API on its socket until closed.
type adminServer struct {
	srv  *http.Server
	path string
	done chan struct{}
}

func (a *adminServer) Close() error {
	err := a.srv.Close()
	<-a.done
	os.Remove(a.path)
	return err
}

// listenAdmin starts the administration socket, unless it is off. A
// socket file left by a server that died is replaced; one a live server
// answers on is an error (two servers on one data directory cannot happen
// with Pebble, which locks it, but can with PostgreSQL and one -data).
func listenAdmin(cfg serverConfig, svc *attesta.Service, log *slog.Logger) (*adminServer, string, error) {
	path := adminSocketPath(cfg)
	if path == "" {
		return nil, "", nil
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, "", fmt.Errorf("another attesta-server answers on its administration socket %s (-admin-socket PATH or off)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("removing the stale administration socket %s: %w", path, err)
	}
	// The umask (perms.go) makes the socket private from its creation;
	// the chmod makes it 0600 whatever the umask was.
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, "", fmt.Errorf("the administration socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, "", err
	}
	h, err := transport.NewAdminHandler(svc, log)
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	a := &adminServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}, path: path, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("administration socket failed", "err", err)
		}
	}()
	return a, path, nil
}

// dialAdmin returns a client for the administration socket of a running
// server, or nil if none answers there.
func dialAdmin(ctx context.Context, cfg serverConfig) *transport.AdminClient {
	path := adminSocketPath(cfg)
	if path == "" {
		return nil
	}
	c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "unix", path)
	if err != nil {
		return nil
	}
	c.Close()
	return transport.NewAdminClient(path)
}

// connCap is the -max-conns to use: n, but never more than the process's
// file descriptor limit leaves room for (the store's files, the admin
// socket, logs), so that the cap is hit before the descriptors run out.
func connCap(n int, log *slog.Logger) (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return n, nil
	}
	const reserve = 256
	room := int(min(lim.Cur, 1<<30)) - reserve
	if room < 16 {
		return 0, fmt.Errorf("the file descriptor limit (%d) leaves no room for connections; raise it (ulimit -n)", lim.Cur)
	}
	if n > room {
		log.Warn("-max-conns lowered to what the file descriptor limit allows", "asked", n, "max_conns", room, "nofile", lim.Cur)
		return room, nil
	}
	return n, nil
}
