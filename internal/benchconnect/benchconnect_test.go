package benchconnect

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/rnd"
)

// TestFloorBatchIsARedemptions holds the floor's batch to what a known
// key's redemption really commits in pebblestore: the same records (by
// prefix, expiry kind, key and value length) and the same bytes into the
// WAL.
func TestFloorBatchIsARedemptions(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 123)
	var kid attesta.KeyID
	rnd.Read(kid[:])
	redeem := func(st *pebblestore.Store) attesta.Redeemed {
		var c attesta.Challenge
		rnd.Read(c.TokenHash[:])
		c.KeyID, c.KeyType, c.App, c.ExpiresAt = kid, attesta.X25519Public, App, now.Add(5*time.Minute)
		var sess attesta.Session
		rnd.Read(sess.Hash[:])
		sess.ExpiresAt = now.Add(24 * time.Hour)
		var party attesta.PartyID
		rnd.Read(party[:])
		r, err := st.RedeemChallenge(ctx, attesta.Redemption{Challenge: c, Now: now, NewParty: party, Session: sess})
		require.NoError(t, err)
		return r
	}

	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	first := redeem(st)
	require.True(t, first.IsNew)
	before, walBefore := records(t, st.DB()), st.DB().Metrics().WAL.BytesIn
	require.False(t, redeem(st).IsNew)
	real, realWAL := newRecords(before, records(t, st.DB())), st.DB().Metrics().WAL.BytesIn-walBefore

	fl, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	defer fl.Close()
	before, walBefore = records(t, fl.DB()), fl.DB().Metrics().WAL.BytesIn
	require.NoError(t, commitRedemption(fl.DB(), now, rnd.Bytes(32), rnd.Bytes(32), first.PartyID[:], kid[:]))
	floor, floorWAL := newRecords(before, records(t, fl.DB())), fl.DB().Metrics().WAL.BytesIn-walBefore

	assert.Equal(t, shapes(real), shapes(floor), "the floor's records, beside a known key's redemption's")
	assert.Equal(t, realWAL, floorWAL, "bytes into the WAL")
	assert.Len(t, floor, 4)
}

// records lists every key and value in db.
func records(t *testing.T, db *pebble.DB) map[string]string {
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	defer it.Close()
	out := map[string]string{}
	for it.First(); it.Valid(); it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Error())
	return out
}

func newRecords(before, after map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// shapes describes records by prefix (with an expiry entry's kind), key
// length and value length, sorted.
func shapes(recs map[string]string) []string {
	var out []string
	for k, v := range recs {
		p := k[:1]
		if p == "x" {
			p += k[9:10]
		}
		out = append(out, fmt.Sprintf("%s key %d value %d", p, len(k), len(v)))
	}
	slices.Sort(out)
	return out
}
