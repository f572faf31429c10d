package transport_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// A service embeds Attesta: a Store, the secret and a Service, whose
// Handler is mounted under /auth/ on the service's own http.ServeMux next
// to its other routes, one of which trusts Attesta's sessions. A device
// connects through transport.NewClient(base + "/auth").
func ExampleNewHandler() {
	ctx := context.Background()

	// The Store, the secret, the Service and its collector (see
	// attesta.ExampleService).
	dir, err := os.MkdirTemp("", "attesta-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := pebblestore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	secret := make([]byte, attesta.SecretSize) // made once, kept apart from the store
	rand.Read(secret)
	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	collect, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	go svc.CollectEvery(collect, time.Minute)
	appToken, err := svc.CreateApp(ctx, "shop")
	if err != nil {
		log.Fatal(err)
	}

	// The service's own mux: its routes, and Attesta's under /auth/.
	h, err := transport.NewHandler(svc, transport.HandlerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sess, err := svc.Authenticate(r.Context(), bearer)
		if !ok || err != nil {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "the orders of party %s\n", sess.PartyID)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A device.
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		log.Fatal(err)
	}
	c := transport.NewClient(srv.URL + "/auth")
	res, err := c.Connect(ctx, key, appToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("is_new:", res.IsNew)

	get := func(session string) string {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/orders", nil)
		if err != nil {
			log.Fatal(err)
		}
		if session != "" {
			req.Header.Set("Authorization", "Bearer "+session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			log.Fatal(err)
		}
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Println("GET /orders:", get(""))
	fmt.Println("GET /orders with the session:", strings.ReplaceAll(get(res.Session), fmt.Sprint(res.PartyID), "PARTY"))
	if err := c.Logout(ctx, res.Session); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after logout:", get(res.Session))
	// Output:
	// is_new: true
	// GET /orders: 401 log in first
	// GET /orders with the session: 200 the orders of party PARTY
	// after logout: 401 log in first
}

// A server over an embedded Pebble store, and a client that connects with
// a new key: the server makes a new party for it.
func ExampleClient_Connect() {
	ctx := context.Background()

	// Server side.
	dir, err := os.MkdirTemp("", "attesta-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := pebblestore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	secret := make([]byte, 32)
	rand.Read(secret)
	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	appToken, err := svc.CreateApp(ctx, "example")
	if err != nil {
		log.Fatal(err)
	}
	h, err := transport.NewHandler(svc, transport.HandlerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h) // or h.Register(mux) on a mux of your own
	defer srv.Close()

	// Client side.
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		log.Fatal(err)
	}
	c := transport.NewClient(srv.URL)
	res, err := c.Connect(ctx, key, appToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("is_new:", res.IsNew)
	party, err := c.Party(ctx, res.Session)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same party:", party.PartyID == res.PartyID, "keys:", len(party.Keys))
	// Output:
	// is_new: true
	// same party: true keys: 1
}

// A device that holds the party's key gives the party a nickname and
// stores its registry, sealed under a password; a new device with nothing
// but the nickname and the password logs in to the same party.
func ExampleClient_LoginWithPassword() {
	ctx := context.Background()

	// Server side, as in the Connect example.
	dir, err := os.MkdirTemp("", "attesta-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := pebblestore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	secret := make([]byte, attesta.SecretSize)
	rand.Read(secret)
	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	appToken, err := svc.CreateApp(ctx, "example")
	if err != nil {
		log.Fatal(err)
	}
	h, err := transport.NewHandler(svc, transport.HandlerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The first device.
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		log.Fatal(err)
	}
	c := transport.NewClient(srv.URL)
	res, err := c.Connect(ctx, key, appToken)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.AddIdentifier(ctx, res.Session, attesta.Nickname, "Ada Lovelace"); err != nil {
		log.Fatal(err)
	}
	password := []byte("correct horse battery staple")
	pt := registry.Plaintext{PartyID: res.PartyID, Keys: [][]byte{key.Pack()}}
	block, err := registry.Seal(ctx, pt, password, kdf.Default())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.PutRegistry(ctx, res.Session, block, 0); err != nil {
		log.Fatal(err)
	}

	// A new device.
	login, err := transport.NewClient(srv.URL).LoginWithPassword(ctx, appToken, "ada lovelace", password)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("is_new:", login.Session.IsNew)
	fmt.Println("same party:", login.Session.PartyID == res.PartyID)
	fmt.Println("same key:", login.Keys[0].Public().Equal(key.Public()))

	_, err = transport.NewClient(srv.URL).LoginWithPassword(ctx, appToken, "ada lovelace", []byte("guess"))
	fmt.Println("wrong password:", errors.Is(err, registry.ErrWrongPassword))
	// Output:
	// is_new: false
	// same party: true
	// same key: true
	// wrong password: true
}
