package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// collected are the tables Collect empties of expired rows: each one's key
// and expiry columns.
var collected = []struct{ table, key, expiry string }{
	{"used_tokens", "token_hash", "expires"},
	{"sessions", "session_hash", "expires"},
	{"budgets", "budget_key", "tat"},
	{"once_marks", "once_key", "expires"},
}

// Collect deletes the rows that expired at or before now, in batches of
// Config.CollectBatch, each its own transaction; a batch takes only rows
// no other collector has locked (see the package documentation), so
// several servers collecting at once share the work and count each row
// once. A budget is expired when its TAT is: it is full then.
func (s *Store) Collect(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for _, c := range collected {
		q := `DELETE FROM ` + c.table + ` WHERE ` + c.key + ` IN (SELECT ` + c.key + ` FROM ` + c.table +
			` WHERE ` + c.expiry + ` <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) AND ` + c.expiry + ` <= $1`
		for {
			var batch int
			err := s.tx(ctx, func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, q, now.UnixNano(), s.cfg.CollectBatch)
				batch = int(tag.RowsAffected())
				return err
			})
			if err != nil {
				return n, err
			}
			n += batch
			if batch < s.cfg.CollectBatch {
				break
			}
		}
	}
	return n, nil
}
