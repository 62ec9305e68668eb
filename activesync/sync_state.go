package activesync

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// collectionStateVersion is the format of collectionState. A newer Gatehouse must read
// every older format without forcing phones into a full resync (DESIGN.md §2, EAS state).
const collectionStateVersion = 1

// collectionState is a device's state for one collection, kept as JSON in
// store.SyncCollection.State next to the generation (the number in the SyncKey, which
// the store advances by compare-and-swap). What the device holds is not here but in the
// store's known set (§2 invariant 4); this is the rest: options, watermark, the initial
// fill's cursor and what is needed to answer a replayed request.
type collectionState struct {
	Version int `json:"v"`
	// Epoch is the account's sync_epoch when the state was made; a key of another
	// epoch is refused (Status 3) so that no device trusts modseqs from before a
	// restore (§2 invariant 2).
	Epoch int64 `json:"e"`
	// Class is the collection's EAS class ("Email").
	Class   string      `json:"c,omitempty"`
	Options syncOptions `json:"o"`
	// Modseq is the watermark: every change at or below it has been considered for the
	// device (sent, skipped as its own, or filtered out).
	Modseq int64 `json:"m,omitempty"`
	// Fill is the initial fill in progress; nil once it is done.
	Fill *fillCursor `json:"f,omitempty"`
	// AgeChecked is when items ageing out of the FilterType window were last looked
	// for (Unix seconds).
	AgeChecked int64 `json:"ac,omitempty"`
	// Reconcile asks for one pass over the known set (set when a fill ends): known
	// items no longer in the folder are deleted, those outside the window soft-deleted.
	Reconcile bool `json:"rc,omitempty"`
	// PrevGeneration is the key the device presented last, and PrevResponse the
	// Collection element answered to it (WBXML), for a replay of that key.
	PrevGeneration int64  `json:"pg,omitempty"`
	PrevResponse   []byte `json:"pr,omitempty"`
	// ClientIDs maps the ClientIds of the last request's Adds to their ServerIds, so
	// that a replayed Add gets the same ServerId.
	ClientIDs map[string]string `json:"ci,omitempty"`
}

// fillCursor is the initial fill's position: items are sent newest first, and the
// fill ends when ItemsByDate runs dry; the watermark then becomes Snapshot, the
// folder's highest modseq read before the first page, so that every change made
// during the fill is picked up by the deltas that follow.
type fillCursor struct {
	Snapshot int64 `json:"s"`
	// BeforeDate and BeforeID are the last item examined (Unix seconds, item id); zero
	// before the first page.
	BeforeDate int64 `json:"d,omitempty"`
	BeforeID   int64 `json:"i,omitempty"`
}

// syncOptions are a collection's Options ([MS-ASCMD] 2.2.3.125.6), kept until the
// device sends new ones.
type syncOptions struct {
	FilterType     int              `json:"ft,omitempty"`
	BodyPrefs      []bodyPreference `json:"bp,omitempty"`
	BodyPartPrefs  []bodyPreference `json:"bpp,omitempty"`
	MIMESupport    int              `json:"ms,omitempty"`
	MIMETruncation *int             `json:"mt,omitempty"` // nil: not truncated
	// Conflict: 0 client wins, 1 server wins (the default, [MS-ASCMD] 2.2.3.34).
	Conflict int `json:"cf,omitempty"`
	// KeepDeletes is DeletesAsMoves = 0: a client Delete removes for good
	// ([MS-ASCMD] 2.2.3.43; absent means 1, so the zero value is the default).
	KeepDeletes bool `json:"nd,omitempty"`
	// WindowSize is the collection's last WindowSize (0: the default).
	WindowSize int `json:"ws,omitempty"`
}

// bodyOptions are the body options of the collection, for its Adds and Fetches.
func (o syncOptions) bodyOptions() bodyOptions {
	bo := bodyOptions{Prefs: o.BodyPrefs, PartPrefs: o.BodyPartPrefs, MIMESupport: o.MIMESupport, MIMETruncation: -1}
	if o.MIMETruncation != nil {
		bo.MIMETruncation = *o.MIMETruncation
	}
	return bo
}

// newCollectionState is the state of a collection just reset by SyncKey 0.
func newCollectionState(epoch int64, class string) *collectionState {
	return &collectionState{Version: collectionStateVersion, Epoch: epoch, Class: class, Options: syncOptions{Conflict: 1}}
}

// loadCollectionState decodes a stored state.
func loadCollectionState(b []byte) (*collectionState, error) {
	st := &collectionState{Version: collectionStateVersion}
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("activesync: collection state: %w", err)
	}
	if st.Version > collectionStateVersion {
		return nil, fmt.Errorf("activesync: collection state version %d is newer than this binary", st.Version)
	}
	st.Version = collectionStateVersion
	return st, nil
}

func (st *collectionState) encode() ([]byte, error) { return json.Marshal(st) }

// clone copies the state deeply enough to be edited without touching the original.
func (st *collectionState) clone() *collectionState {
	c := *st
	if st.Fill != nil {
		f := *st.Fill
		c.Fill = &f
	}
	c.Options.BodyPrefs = append([]bodyPreference(nil), st.Options.BodyPrefs...)
	c.Options.BodyPartPrefs = append([]bodyPreference(nil), st.Options.BodyPartPrefs...)
	c.ClientIDs = nil
	if len(st.ClientIDs) > 0 {
		c.ClientIDs = make(map[string]string, len(st.ClientIDs))
		for k, v := range st.ClientIDs {
			c.ClientIDs[k] = v
		}
	}
	return &c
}

// filterWindow is the oldest internal date inside a FilterType window ([MS-ASCMD]
// 2.2.3.70.2: 1 one day, 2 three days, 3 one week, 4 two weeks, 5 one month; 0 all);
// zero when there is no limit.
func filterWindow(filterType int, now time.Time) time.Time {
	days := 0
	switch filterType {
	case 1:
		days = 1
	case 2:
		days = 3
	case 3:
		days = 7
	case 4:
		days = 14
	case 5:
		days = 30
	default:
		return time.Time{}
	}
	return now.AddDate(0, 0, -days)
}

// A SyncKey on the wire is "<epoch>:<generation>", e.g. "3:17". "0" asks for a reset
// ([MS-ASCMD] 2.2.3.166.4); the spec treats the key as opaque (at most 64 characters).

func formatSyncKey(epoch, generation int64) string {
	return strconv.FormatInt(epoch, 10) + ":" + strconv.FormatInt(generation, 10)
}

// parseSyncKey reads a SyncKey other than "0"; ok is false when it is not one of ours.
func parseSyncKey(s string) (epoch, generation int64, ok bool) {
	e, g, found := strings.Cut(s, ":")
	if !found || len(s) > 64 {
		return 0, 0, false
	}
	epoch, err1 := strconv.ParseInt(e, 10, 64)
	generation, err2 := strconv.ParseInt(g, 10, 64)
	if err1 != nil || err2 != nil || epoch < 0 || generation <= 0 {
		return 0, 0, false
	}
	return epoch, generation, true
}
