package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

var keypoolCmd = &command{
	name:    "keypool",
	summary: "pre-generate many private keys into one file, for attesta load",
	usage: `Usage: attesta keypool -type ALG -n N -out FILE

Generates N private keys of one algorithm, in parallel on every core, and
writes them to FILE, a new file with mode 0600, as concatenated PEM blocks
(the form keygen writes). "attesta load -pool FILE" takes its keys from
such a file, so that generating keys (seconds per RSA key) is not what a
load test measures. An existing FILE is never overwritten.

The keys are real private keys: a pool is as secret as the accounts made
with it. Use pools for load tests only.

ALG is one of rsa4096, rsa3072, rsa2048, x25519, mlkem768x25519.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		alg := fs.String("type", "", "key algorithm `ALG` (required)")
		n := fs.Int("n", 0, "how many keys (required)")
		out := fs.String("out", "", "write the keys to `FILE`, which must not exist (required)")
		return func(ctx context.Context, e *env) int { return keypool(ctx, e, attesta.Algorithm(*alg), *n, *out) }
	},
}

// maxPoolKeys bounds a pool, generated or read: a million keys is far more
// than any load run registers, and bounds the memory a pool takes.
const maxPoolKeys = 1 << 20

func keypool(ctx context.Context, e *env, alg attesta.Algorithm, n int, out string) int {
	if err := checkAlgorithm(alg); err != nil {
		return e.usagef("-type: %v", err)
	}
	if n < 1 || n > maxPoolKeys {
		return e.usagef("-n must be between 1 and %d", maxPoolKeys)
	}
	if out == "" {
		return e.usagef("-out FILE is required")
	}
	f, err := createKeyFile(out)
	if err != nil {
		return e.errorf("%v", err)
	}
	start := time.Now()
	w := bufio.NewWriterSize(f, 1<<16)
	err = generateKeys(ctx, e.stderr, alg, n, func(k *attesta.PrivateKey) error {
		_, err := w.Write(k.MarshalPEM())
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		if errors.Is(err, context.Canceled) {
			return e.errorf("interrupted; %s removed", out)
		}
		return e.errorf("%v; %s removed", err, out)
	}
	took := time.Since(start)
	fmt.Fprintf(e.stderr, "wrote %d %s private keys to %s (mode 0600) in %v (%.0f keys/s on %d cores); keep it secret\n",
		n, alg, out, took.Round(time.Millisecond), float64(n)/took.Seconds(), runtime.GOMAXPROCS(0))
	return 0
}

// checkAlgorithm refuses a name GenerateKey does not know, listing the
// names it does.
func checkAlgorithm(alg attesta.Algorithm) error {
	if slices.Contains(attesta.Algorithms, alg) {
		return nil
	}
	names := make([]string, len(attesta.Algorithms))
	for i, a := range attesta.Algorithms {
		names[i] = string(a)
	}
	return fmt.Errorf("unknown key algorithm %q: want one of %s", alg, strings.Join(names, ", "))
}

// generateKeys makes n keys of alg on GOMAXPROCS goroutines and hands each
// to emit, from the calling goroutine only, in no particular order. It
// shows its progress on w once a second (in place on a terminal) and
// stops at ctx's end or emit's first error.
func generateKeys(ctx context.Context, w io.Writer, alg attesta.Algorithm, n int, emit func(*attesta.PrivateKey) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(runtime.GOMAXPROCS(0), n)
	keys := make(chan *attesta.PrivateKey, workers)
	errc := make(chan error, workers)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				k, err := attesta.GenerateKey(alg)
				if err != nil {
					errc <- err
					cancel()
					return
				}
				select {
				case keys <- k:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(keys)
	}()

	p := newProgressLine(w)
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	done := 0
	for {
		select {
		case k, ok := <-keys:
			if !ok {
				p.clear()
				select {
				case err := <-errc:
					return err
				default:
				}
				if err := ctx.Err(); err != nil && done < n {
					return err
				}
				return nil
			}
			if err := emit(k); err != nil {
				cancel()
				for range keys { // let the workers end
				}
				p.clear()
				return err
			}
			done++
		case <-tick.C:
			el := time.Since(start)
			rate := float64(done) / el.Seconds()
			eta := "?"
			if rate > 0 {
				eta = (time.Duration(float64(n-done)/rate) * time.Second).Round(time.Second).String()
			}
			p.show(fmt.Sprintf("generating %s keys: %d/%d (%.0f/s, %d cores), %s to go", alg, done, n, rate, workers, eta))
		}
	}
}

// poolKey is one key of a pool, with its packed public key and key id
// computed once, outside any measurement.
type poolKey struct {
	key    *attesta.PrivateKey
	packed []byte
	id     string
}

func newPoolKey(k *attesta.PrivateKey) poolKey {
	return poolKey{key: k, packed: k.Public().Pack(), id: k.Public().ID().String()}
}

// readPool reads a file of concatenated PEM private keys, all of one
// algorithm, which it returns. The keys are parsed on every core: an RSA
// key takes a while to check.
func readPool(path string) ([]poolKey, attesta.Algorithm, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var blocks [][]byte
	for rest := data; ; {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, rest[:len(rest)-len(r)])
		if len(blocks) > maxPoolKeys {
			return nil, "", fmt.Errorf("over %d keys", maxPoolKeys)
		}
		rest = r
	}
	if len(blocks) == 0 {
		return nil, "", errors.New("no PEM block: not a key pool (make one with attesta keypool)")
	}
	keys := make([]poolKey, len(blocks))
	algs := make([]attesta.Algorithm, len(blocks))
	errs := make([]error, len(blocks))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(blocks)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(blocks); i = int(next.Add(1) - 1) {
				k, err := attesta.ParsePrivateKeyPEM(blocks[i])
				if err == nil {
					keys[i] = newPoolKey(k)
					algs[i], err = algorithmOf(k)
				}
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, "", fmt.Errorf("key %d: %w", i+1, err)
		}
		if algs[i] != algs[0] {
			return nil, "", fmt.Errorf("key %d is %s, key 1 is %s: a pool holds one algorithm", i+1, algs[i], algs[0])
		}
	}
	return keys, algs[0], nil
}

// algorithmOf names the algorithm of a private key, RSA with its size.
func algorithmOf(k *attesta.PrivateKey) (attesta.Algorithm, error) {
	switch k.Type() {
	case attesta.X25519Private:
		return attesta.X25519, nil
	case attesta.MLKEM768X25519Private:
		return attesta.MLKEM768X25519, nil
	case attesta.RSAPrivate:
		der, err := k.Public().MarshalPKIX()
		if err != nil {
			return "", err
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return "", err
		}
		if rk, ok := pub.(*rsa.PublicKey); ok {
			return attesta.Algorithm(fmt.Sprintf("rsa%d", rk.N.BitLen())), nil
		}
	}
	return "", fmt.Errorf("unexpected key type %v", k.Type())
}

// progressLine shows a line that changes: redrawn in place on a terminal,
// one plain line per update anywhere else (a pipe, a file, a test).
type progressLine struct {
	w     io.Writer
	tty   bool
	shown bool
}

func newProgressLine(w io.Writer) *progressLine { return &progressLine{w: w, tty: isTerminal(w)} }

func (p *progressLine) show(s string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\033[K", s)
	} else {
		fmt.Fprintln(p.w, s)
	}
	p.shown = true
}

// clear erases the line on a terminal, so that what follows starts on a
// clean line.
func (p *progressLine) clear() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.shown = false
}
