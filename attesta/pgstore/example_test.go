package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pgstore"
)

// A server opens the store once at start (applying any schema migration
// it is missing) and hands it to the Service; every other server on the
// same database does the same, with the same secret.
func ExampleOpen() {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, os.Getenv("ATTESTA_STORE"), pgstore.Config{})
	if err != nil {
		log.Fatal(err) // a *pgstore.SchemaError if the database is newer than this server
	}
	defer st.Close()
	secret, err := os.ReadFile("/etc/attesta/secret") // never in the database
	if err != nil {
		log.Fatal(err)
	}
	svc, err := attesta.New(attesta.Config{Store: st, Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	_ = svc // serve it: transport.NewHandler(svc, …)
}
