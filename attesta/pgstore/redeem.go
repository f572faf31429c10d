package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/attesta-go/attesta/attesta"
)

// RedeemChallenge is one transaction of two pipelined batches (one round
// trip each: with BEGIN and COMMIT four in all, five for a known key).
//
// The order of its statements is chosen for SERIALIZABLE: PostgreSQL's
// predicate locks on a B-tree are per page, so a transaction that read an
// absent key (is this key known?) and then inserted it would conflict
// with every concurrent first connect whose key falls on the same index
// page, each reading what the other inserts, and most of them would have
// to run again. So a first connect never reads its key: it inserts it
// (INSERT … ON CONFLICT DO NOTHING checks the index without a predicate
// lock) and learns from the rows inserted whether it was new; only a known key is
// read, which reads a row no concurrent transaction inserts.
func (s *Store) RedeemChallenge(ctx context.Context, r attesta.Redemption) (out attesta.Redeemed, err error) {
	c := r.Challenge
	err = s.tx(ctx, func(tx pgx.Tx) error {
		out = attesta.Redeemed{Challenge: c}
		var (
			used, inserted pgconn.CommandTag
			banned         bool
			pid            []byte
		)
		b := &pgx.Batch{}
		// The token first: of concurrent redemptions, the others wait on
		// this row and then fail to serialize (retried: they then find
		// it used).
		b.Queue(`INSERT INTO used_tokens (token_hash, expires) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING`,
			c.TokenHash[:], nanos(c.ExpiresAt)).Exec(func(ct pgconn.CommandTag) error { used = ct; return nil })
		b.Queue(`SELECT EXISTS (SELECT 1 FROM bans WHERE key_id = $1)`, c.KeyID[:]).QueryRow(func(row pgx.Row) error { return row.Scan(&banned) })
		// The key, for the new party, unless it is banned or known.
		b.Queue(`INSERT INTO party_keys (key_id, party_id, key_type, added)
			SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM bans WHERE key_id = $1)
			ON CONFLICT (key_id) DO NOTHING`,
			c.KeyID[:], r.NewParty[:], int16(c.KeyType), nanos(r.Now)).Exec(func(ct pgconn.CommandTag) error { inserted = ct; return nil })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		switch {
		case used.RowsAffected() == 0:
			return attesta.ErrChallengeUnknown // rolled back: nothing written
		case banned:
			return commitThen{attesta.ErrKeyBanned} // the token stays used
		}
		b = &pgx.Batch{}
		if inserted.RowsAffected() == 1 {
			out.PartyID, out.IsNew = r.NewParty, true
			b.Queue(`INSERT INTO parties (party_id, created) VALUES ($1, $2)`, r.NewParty[:], nanos(r.Now))
		} else {
			// A known key. (A concurrent first connect of it that has not
			// committed makes the insert above fail to serialize instead.)
			if err := tx.QueryRow(ctx, `SELECT party_id FROM party_keys WHERE key_id = $1`, c.KeyID[:]).Scan(&pid); err != nil {
				return err
			}
			if err := copyInto(out.PartyID[:], pid, "party id"); err != nil {
				return err
			}
		}
		b.Queue(`INSERT INTO sessions (session_hash, party_id, key_id, app, expires) VALUES ($1, $2, $3, $4, $5)`,
			r.Session.Hash[:], out.PartyID[:], c.KeyID[:], c.App, nanos(r.Session.ExpiresAt))
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return attesta.Redeemed{}, err
	}
	return out, nil
}

func (s *Store) Party(ctx context.Context, id attesta.PartyID) (p attesta.Party, err error) {
	err = s.stmt(ctx, func() error {
		p = attesta.Party{ID: id}
		rows, err := s.pool.Query(ctx, `SELECT p.created, k.key_id, k.key_type, k.added FROM parties p
			LEFT JOIN party_keys k ON k.party_id = p.party_id WHERE p.party_id = $1 ORDER BY k.key_id`, id[:])
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			found = true
			var (
				created int64
				kid     []byte
				kt      *int16
				added   *int64
			)
			if err := rows.Scan(&created, &kid, &kt, &added); err != nil {
				return err
			}
			p.Created = fromNanos(created)
			if kid == nil {
				continue // a party without keys: none is made so
			}
			k := attesta.PartyKey{Type: attesta.KeyType(*kt), Added: fromNanos(*added)}
			if err := copyInto(k.ID[:], kid, "key id"); err != nil {
				return err
			}
			p.Keys = append(p.Keys, k)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return attesta.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return attesta.Party{}, err
	}
	return p, nil
}

func (s *Store) Session(ctx context.Context, h attesta.Hash) (sess attesta.Session, err error) {
	err = s.stmt(ctx, func() error {
		var party, kid []byte
		var expires int64
		sess = attesta.Session{Hash: h}
		err := s.pool.QueryRow(ctx, `SELECT party_id, key_id, app, expires FROM sessions WHERE session_hash = $1`, h[:]).
			Scan(&party, &kid, &sess.App, &expires)
		if err != nil {
			return noRows(err)
		}
		sess.ExpiresAt = fromNanos(expires)
		return errors.Join(copyInto(sess.PartyID[:], party, "party id"), copyInto(sess.KeyID[:], kid, "key id"))
	})
	if err != nil {
		return attesta.Session{}, err
	}
	return sess, nil
}

func (s *Store) DeleteSession(ctx context.Context, h attesta.Hash) error {
	return s.stmt(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE session_hash = $1`, h[:])
		return err
	})
}
