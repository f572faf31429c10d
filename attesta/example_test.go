package attesta_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

// What a service runs: a Store, the secret, a Service with its collector,
// an application token; then the key register/connect flow, with the
// client's half (a key, the decryption) inline. Over HTTP the same calls
// are transport.Handler's and transport.Client's (see transport's
// examples).
func ExampleService() {
	ctx := context.Background()

	// The Store: here the embedded one, in a directory of its own.
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

	// The secret: SecretSize random bytes made once and kept apart from
	// the store (a file of mode 0600, a secret manager), the same for the
	// life of the store. attesta-server keeps it in DATA/secret.
	secret := make([]byte, attesta.SecretSize)
	rand.Read(secret)

	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	// Expired challenges and sessions stay in the store until collected.
	collect, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	go svc.CollectEvery(collect, time.Minute)

	// One token per client application. It ships inside the application,
	// so it is public: it names the application, it proves nothing.
	appToken, err := svc.CreateApp(ctx, "example")
	if err != nil {
		log.Fatal(err)
	}

	// A device with a new key connects: the server encrypts a token to
	// the key, and only the private key's holder can send it back.
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		log.Fatal(err)
	}
	connect := func() attesta.KeyToken {
		req, err := svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
		if err != nil {
			log.Fatal(err)
		}
		token, err := key.DecryptToken(req.EncryptedToken) // on the device
		if err != nil {
			log.Fatal(err)
		}
		res, err := svc.AuthKeyToken(ctx, token)
		if err != nil {
			log.Fatal(err)
		}
		return res
	}
	first := connect()
	fmt.Println("first connect, is_new:", first.IsNew)

	// The session is a bearer credential for the party.
	sess, err := svc.Authenticate(ctx, first.Session)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("session of the party:", sess.PartyID == first.PartyID)

	// The same key again logs the same party in.
	again := connect()
	fmt.Println("second connect, is_new:", again.IsNew, "same party:", again.PartyID == first.PartyID)

	// A private key sent where the public one belongs is a disclosure:
	// its public key is banned for good.
	_, err = svc.AuthKeyRequest(ctx, key.Pack(), appToken)
	fmt.Println("private key sent:", errors.Is(err, attesta.ErrPrivateKeyDisclosed))
	_, err = svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
	fmt.Println("then the key:", errors.Is(err, attesta.ErrKeyBanned))
	// Output:
	// first connect, is_new: true
	// session of the party: true
	// second connect, is_new: false same party: true
	// private key sent: true
	// then the key: true
}

// Password login on the core API: the party gives itself a nickname and
// stores its key sealed under a password; a device with nothing but the
// nickname and the password fetches the block, opens it and connects
// with the key it holds. A login nobody holds gets a decoy that no
// password opens.
func ExampleService_RegistryByLogin() {
	ctx := context.Background()
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
	connect := func(key *attesta.PrivateKey) attesta.KeyToken {
		req, err := svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
		if err != nil {
			log.Fatal(err)
		}
		token, err := key.DecryptToken(req.EncryptedToken)
		if err != nil {
			log.Fatal(err)
		}
		res, err := svc.AuthKeyToken(ctx, token)
		if err != nil {
			log.Fatal(err)
		}
		return res
	}

	// The first device: a key, a nickname, the sealed registry.
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		log.Fatal(err)
	}
	party := connect(key).PartyID
	status, err := svc.AddIdentifier(ctx, party, attesta.Nickname, "Ada Lovelace")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("nickname:", status)
	password := []byte("correct horse battery staple")
	pt := registry.Plaintext{PartyID: party.String(), Keys: [][]byte{key.Pack()}}
	block, err := registry.Seal(ctx, pt, password, kdf.Default())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.PutRegistry(ctx, party, block, 0); err != nil {
		log.Fatal(err)
	}

	// A new device: the login, as typed, and the password.
	reg, err := svc.RegistryByLogin(ctx, "  ada LOVELACE ")
	if err != nil {
		log.Fatal(err)
	}
	opened, err := registry.Open(ctx, reg.Block, password, kdf.DefaultCeilings())
	if err != nil {
		log.Fatal(err)
	}
	recovered, err := attesta.ParsePrivateKey(opened.Keys[0])
	if err != nil {
		log.Fatal(err)
	}
	res := connect(recovered)
	fmt.Println("new device, is_new:", res.IsNew, "same party:", res.PartyID == party)

	// Nobody holds this login: a decoy, which no password opens.
	decoy, err := svc.RegistryByLogin(ctx, "grace hopper")
	if err != nil {
		log.Fatal(err)
	}
	_, err = registry.Open(ctx, decoy.Block, password, kdf.DefaultCeilings())
	fmt.Println("unknown login:", errors.Is(err, registry.ErrWrongPassword))
	// Output:
	// nickname: active
	// new device, is_new: false same party: true
	// unknown login: true
}

// keypeer's flow on the core API: an instance connects and registers, its
// TOKEN verifies offline, the operator stores a service key and entitles
// the TOKEN, and the instance receives the key encrypted to its own key.
// Over HTTP: transport.Client's ConnectInstance, InstanceToken and
// ServiceKey; the operator's side is attesta-server's entitlement and
// service-key commands.
func ExampleService_ServiceKey() {
	ctx := context.Background()
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
	appToken, err := svc.CreateApp(ctx, "keypeer")
	if err != nil {
		log.Fatal(err)
	}

	// The instance: a connect with its own key, then its registration.
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		log.Fatal(err)
	}
	req, err := svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
	if err != nil {
		log.Fatal(err)
	}
	challenge, err := key.DecryptToken(req.EncryptedToken)
	if err != nil {
		log.Fatal(err)
	}
	res, err := svc.AuthKeyToken(ctx, challenge)
	if err != nil {
		log.Fatal(err)
	}
	sess, err := svc.Authenticate(ctx, res.Session)
	if err != nil {
		log.Fatal(err)
	}
	token, err := svc.RegisterInstance(ctx, sess, key.Public().Pack())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("TOKEN of", token.App(), "in", len(token.String()), "characters")
	fmt.Println("verifies offline:", token.Verify(svc.InstanceTokenKey().Public) == nil)

	// The operator stores a service key; the instance is refused until
	// its TOKEN is entitled (the payment).
	if _, err := svc.SetServiceKey(ctx, "keypeer", "weather", []byte("wk_live_4f1c9e2a7b")); err != nil {
		log.Fatal(err)
	}
	_, err = svc.ServiceKey(ctx, sess, "weather")
	fmt.Println("before the payment:", errors.Is(err, attesta.ErrNotEntitled))
	if _, err := svc.GrantEntitlement(ctx, token.String()); err != nil {
		log.Fatal(err)
	}
	sk, err := svc.ServiceKey(ctx, sess, "weather")
	if err != nil {
		log.Fatal(err)
	}
	value, err := key.DecryptServiceKey(sk.Ciphertext) // on the instance
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("version %d: %s\n", sk.Version, value)
	// Output:
	// TOKEN of keypeer in 136 characters
	// verifies offline: true
	// before the payment: true
	// version 1: wk_live_4f1c9e2a7b
}
