package pgstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/attesta-go/attesta/attesta"
)

// holder reads who holds identifier h: ok is false if nobody does (no
// row); quarantine is non-zero for a released nickname.
func holder(ctx context.Context, tx pgx.Tx, h attesta.Hash) (party []byte, quarantine int64, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT party_id, quarantine FROM identifiers WHERE ident_hash = $1`, h[:]).Scan(&party, &quarantine)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, nil
	}
	return party, quarantine, err == nil, err
}

// heldByOther reports whether the identifier's row keeps it from party at
// now: another party's, active or in its quarantine.
func heldByOther(holder []byte, quarantine int64, party attesta.PartyID, now time.Time) bool {
	return !bytes.Equal(holder, party[:]) && (quarantine == 0 || quarantine > now.UnixNano())
}

func setActive(ctx context.Context, tx pgx.Tx, party attesta.PartyID, h attesta.Hash, kind attesta.IdentifierKind, hint string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO identifiers (ident_hash, party_id, kind, hint, added, quarantine) VALUES ($1, $2, $3, $4, $5, 0)
		ON CONFLICT (ident_hash) DO UPDATE SET party_id = excluded.party_id, kind = excluded.kind, hint = excluded.hint, added = excluded.added, quarantine = 0`,
		h[:], party[:], string(kind), hint, nanos(now))
	return err
}

func (s *Store) AddNickname(ctx context.Context, party attesta.PartyID, h attesta.Hash, hint string, max int, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		who, q, ok, err := holder(ctx, tx, h)
		if err != nil {
			return err
		}
		if ok && heldByOther(who, q, party, now) {
			return attesta.ErrIdentifierTaken
		}
		if ok && q == 0 {
			return nil // already this party's
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM identifiers WHERE party_id = $1 AND kind = $2 AND quarantine = 0`,
			party[:], string(attesta.Nickname)).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return attesta.ErrTooManyIdentifiers
		}
		return setActive(ctx, tx, party, h, attesta.Nickname, hint, now)
	})
}

func (s *Store) StartVerification(ctx context.Context, party attesta.PartyID, v attesta.Verification, max int) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var mine bool
		var n int
		err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM identifiers WHERE ident_hash = $2 AND party_id = $1 AND quarantine = 0),
			(SELECT count(*) FROM identifiers WHERE party_id = $1 AND kind <> $3 AND quarantine = 0) +
			(SELECT count(*) FROM verifications WHERE party_id = $1 AND ident_hash <> $2)`,
			party[:], v.Hash[:], string(attesta.Nickname)).Scan(&mine, &n)
		if err != nil {
			return err
		}
		if mine {
			return attesta.ErrIdentifierTaken
		}
		if n >= max {
			return attesta.ErrTooManyIdentifiers
		}
		_, err = tx.Exec(ctx, `INSERT INTO verifications (party_id, ident_hash, kind, hint, code_hash, expires, tries) VALUES ($1, $2, $3, $4, $5, $6, 0)
			ON CONFLICT (party_id, ident_hash) DO UPDATE SET kind = excluded.kind, hint = excluded.hint, code_hash = excluded.code_hash, expires = excluded.expires, tries = 0`,
			party[:], v.Hash[:], string(v.Kind), v.Hint, v.CodeHash[:], nanos(v.Expires))
		return err
	})
}

func (s *Store) ConfirmVerification(ctx context.Context, party attesta.PartyID, h attesta.Hash, code attesta.Hash, maxTries int, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var (
			kind, hint string
			codeHash   []byte
			expires    int64
			tries      int
		)
		err := tx.QueryRow(ctx, `SELECT kind, hint, code_hash, expires, tries FROM verifications WHERE party_id = $1 AND ident_hash = $2`,
			party[:], h[:]).Scan(&kind, &hint, &codeHash, &expires, &tries)
		if errors.Is(err, pgx.ErrNoRows) {
			return attesta.ErrCodeUnknown
		} else if err != nil {
			return err
		}
		drop := func() error {
			_, err := tx.Exec(ctx, `DELETE FROM verifications WHERE party_id = $1 AND ident_hash = $2`, party[:], h[:])
			return err
		}
		if now.UnixNano() >= expires {
			if err := drop(); err != nil {
				return err
			}
			return commitThen{attesta.ErrCodeExpired}
		}
		if subtle.ConstantTimeCompare(codeHash, code[:]) != 1 {
			if tries+1 >= maxTries {
				if err := drop(); err != nil {
					return err
				}
				return commitThen{attesta.ErrCodeTriesExhausted}
			}
			if _, err := tx.Exec(ctx, `UPDATE verifications SET tries = $3 WHERE party_id = $1 AND ident_hash = $2`, party[:], h[:], tries+1); err != nil {
				return err
			}
			return commitThen{attesta.ErrWrongCode}
		}
		if err := drop(); err != nil {
			return err
		}
		who, q, ok, err := holder(ctx, tx, h)
		if err != nil {
			return err
		}
		if ok && heldByOther(who, q, party, now) {
			return commitThen{attesta.ErrIdentifierTaken}
		}
		return setActive(ctx, tx, party, h, attesta.IdentifierKind(kind), hint, now)
	})
}

func (s *Store) RemoveIdentifier(ctx context.Context, party attesta.PartyID, h attesta.Hash, quarantineUntil time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM verifications WHERE party_id = $1 AND ident_hash = $2`, party[:], h[:])
		if err != nil {
			return err
		}
		found := tag.RowsAffected() > 0
		var kind string
		err = tx.QueryRow(ctx, `SELECT kind FROM identifiers WHERE ident_hash = $1 AND party_id = $2 AND quarantine = 0`, h[:], party[:]).Scan(&kind)
		switch {
		case err == nil && kind == string(attesta.Nickname):
			// Reserved to party until the quarantine ends.
			_, err = tx.Exec(ctx, `UPDATE identifiers SET quarantine = $2 WHERE ident_hash = $1`, h[:], nanos(quarantineUntil))
			found = true
		case err == nil:
			_, err = tx.Exec(ctx, `DELETE FROM identifiers WHERE ident_hash = $1`, h[:])
			found = true
		case errors.Is(err, pgx.ErrNoRows):
			err = nil
		}
		if err != nil {
			return err
		}
		if !found {
			return attesta.ErrIdentifierNotFound
		}
		return nil
	})
}

func (s *Store) Identifiers(ctx context.Context, party attesta.PartyID) (out []attesta.IdentifierInfo, err error) {
	err = s.stmt(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT kind, hint, added, false FROM identifiers WHERE party_id = $1 AND quarantine = 0
			UNION ALL SELECT kind, hint, 0, true FROM verifications WHERE party_id = $1`, party[:])
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (attesta.IdentifierInfo, error) {
			var (
				i     attesta.IdentifierInfo
				kind  string
				added int64
			)
			err := r.Scan(&kind, &i.Hint, &added, &i.Pending)
			i.Kind, i.Added = attesta.IdentifierKind(kind), fromNanos(added)
			return i, err
		})
		return err
	})
	slices.SortFunc(out, func(a, b attesta.IdentifierInfo) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Hint, b.Hint), b.Added.Compare(a.Added))
	})
	return out, err
}

func (s *Store) PartyByIdentifier(ctx context.Context, h attesta.Hash) (p attesta.PartyID, err error) {
	err = s.stmt(ctx, func() error {
		var party []byte
		err := s.pool.QueryRow(ctx, `SELECT party_id FROM identifiers WHERE ident_hash = $1 AND quarantine = 0`, h[:]).Scan(&party)
		if err != nil {
			return noRows(err)
		}
		return copyInto(p[:], party, "party id")
	})
	return p, err
}

func (s *Store) PutRegistry(ctx context.Context, party attesta.PartyID, block []byte, version uint64) (uint64, error) {
	if version >= math.MaxInt64 {
		return 0, attesta.ErrVersionConflict // never stored
	}
	err := s.stmt(ctx, func() error {
		var (
			tag pgconn.CommandTag
			err error
		)
		if version == 0 {
			tag, err = s.pool.Exec(ctx, `INSERT INTO registries (party_id, version, block_data) VALUES ($1, 1, $2) ON CONFLICT (party_id) DO NOTHING`,
				party[:], block)
		} else {
			tag, err = s.pool.Exec(ctx, `UPDATE registries SET version = version + 1, block_data = $3 WHERE party_id = $1 AND version = $2`,
				party[:], int64(version), block)
		}
		if err == nil && tag.RowsAffected() == 0 {
			return attesta.ErrVersionConflict
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return version + 1, nil
}

func (s *Store) Registry(ctx context.Context, party attesta.PartyID) (block []byte, version uint64, err error) {
	err = s.stmt(ctx, func() error {
		var v int64
		if err := s.pool.QueryRow(ctx, `SELECT block_data, version FROM registries WHERE party_id = $1`, party[:]).Scan(&block, &v); err != nil {
			return noRows(err)
		}
		version = uint64(v)
		return nil
	})
	return block, version, err
}
