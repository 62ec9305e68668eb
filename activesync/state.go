package activesync

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/store"
)

// deviceStateVersion is the format of deviceState. A newer Gatehouse must read every
// older format without forcing phones into a full resync (DESIGN.md §2, EAS state).
const deviceStateVersion = 1

// deviceState is the per-device part of the sync state, stored as JSON in the device
// row. Each command owns its fields and changes them only through updateDeviceState,
// which runs inside the store's writer, so concurrent requests of a device never lose
// each other's fields.
type deviceState struct {
	Version int `json:"v"`

	// FolderSync ([MS-ASCMD] 2.2.1.5): the hierarchy key generation, the account modseq
	// the device's folder list is current to, and the folders it holds (id → what it was
	// sent), so that renames, moves and deletions become Update and Delete.
	FolderKey    int64                 `json:"fk,omitempty"`
	FolderModseq int64                 `json:"fm,omitempty"`
	Folders      map[int64]knownFolder `json:"f,omitempty"`
	FolderPrev   *folderSyncSnapshot   `json:"fp,omitempty"`

	// Ping ([MS-ASCMD] 2.2.1.13): the folders and heartbeat of the last Ping, reused by
	// an empty Ping request.
	PingFolders   []int64 `json:"pf,omitempty"`
	PingHeartbeat int     `json:"ph,omitempty"`

	// Sync ([MS-ASCMD] 2.2.3.166.4 empty and partial requests, 14.0+): the last full Sync
	// request as WBXML.
	LastSync []byte `json:"ls,omitempty"`

	// Provision: the fingerprint of the policy its key was given for ("" before
	// fingerprints were kept: such a device is not asked to provision again).
	PolicyPrint string `json:"pp,omitempty"`

	// SendMail, SmartReply, SmartForward: the device's last ClientIds, so that a resent
	// message gets Status 118 instead of going out twice.
	SentClientIDs []string `json:"sc,omitempty"`
}

// knownFolder is a folder as a device was last told of it.
type knownFolder struct {
	Parent int64  `json:"p"`
	Name   string `json:"n"`
	Type   int    `json:"t"`
	// Created is the folder's create modseq when the device learned of it by its own
	// FolderCreate, ahead of FolderModseq (so that a deletion the tree delta does not
	// report, of a folder created after the watermark, still reaches the device); 0
	// otherwise.
	Created int64 `json:"c,omitempty"`
}

// folderSyncSnapshot is the answer to the previous FolderSync key, kept so that a replay
// of that key gets the same answer (§2 invariant 4).
type folderSyncSnapshot struct {
	Key      int64  `json:"k"`
	Response []byte `json:"r"`
}

// loadDeviceState decodes a device's state; an empty one is a fresh state.
func loadDeviceState(dev store.Device) (deviceState, error) {
	st := deviceState{Version: deviceStateVersion}
	if len(dev.State) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(dev.State, &st); err != nil {
		return st, fmt.Errorf("activesync: device state: %w", err)
	}
	if st.Version > deviceStateVersion {
		return st, fmt.Errorf("activesync: device state version %d is newer than this binary", st.Version)
	}
	st.Version = deviceStateVersion
	return st, nil
}

// setPolicyFingerprint records, inside a device update, which policy its key is for.
func setPolicyFingerprint(d *store.Device, print string) error {
	st, err := loadDeviceState(*d)
	if err != nil {
		return err
	}
	st.PolicyPrint = print
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	d.State = b
	return nil
}

// policyPrintOf reads only the policy fingerprint of a device's state.
func policyPrintOf(dev store.Device) string {
	if len(dev.State) == 0 {
		return ""
	}
	var st struct {
		PolicyPrint string `json:"pp"`
	}
	if json.Unmarshal(dev.State, &st) != nil {
		return ""
	}
	return st.PolicyPrint
}

// updateDeviceState changes the device's state in one store mutation and returns the
// device as stored; rq.dev is refreshed.
func (h *Handler) updateDeviceState(ctx context.Context, rq *request, fn func(*deviceState) error) (deviceState, error) {
	var out deviceState
	dev, err := h.st.UpdateDevice(ctx, rq.p, rq.dev.DeviceID, func(d *store.Device) error {
		st, err := loadDeviceState(*d)
		if err != nil {
			return err
		}
		if err := fn(&st); err != nil {
			return err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		d.State = b
		out = st
		return nil
	})
	if err == nil {
		rq.dev = dev
	}
	return out, err
}
