// Package outbox is a Notifier for demos and tests: instead of sending a
// verification code by email or SMS, it appends one JSON line per message to
// a file (mode 0600), where a person or a script can read it. The file holds
// live codes: keep it as private as the data directory.
package outbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// Message is one line of the outbox.
type Message struct {
	Time time.Time              `json:"time"`
	Kind attesta.IdentifierKind `json:"kind"`
	To   string                 `json:"to"`
	Code string                 `json:"code"`
}

// Outbox appends messages to a file.
type Outbox struct {
	path string
	mu   sync.Mutex
}

var _ attesta.Notifier = (*Outbox)(nil)

// New returns an Outbox writing to path.
func New(path string) *Outbox { return &Outbox{path: path} }

// SendCode appends the message and syncs the file.
func (o *Outbox) SendCode(ctx context.Context, to attesta.Identifier, code string) error {
	line, err := json.Marshal(Message{Time: time.Now().UTC(), Kind: to.Kind, To: to.Value, Code: code})
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ErrNoMessage: the outbox holds no message for that address.
var ErrNoMessage = errors.New("outbox: no message for that address")

// LastCode returns the newest code sent to the normalised address to.
func LastCode(path string, to string) (string, error) {
	codes, err := Codes(path, to)
	if err != nil {
		return "", err
	}
	if len(codes) == 0 {
		return "", ErrNoMessage
	}
	return codes[len(codes)-1], nil
}

// Codes returns every code sent to the normalised address to, oldest
// first.
func Codes(path string, to string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var codes []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		if m.To == to {
			codes = append(codes, m.Code)
		}
	}
	return codes, sc.Err()
}
