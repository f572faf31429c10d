package transport_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http/httptest"
	"os"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/transport"
)

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
