package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/activesync"
	"github.com/gatehouse/gatehouse/store"
)

// device carries out `gatehouse device list [EMAIL]` and
// `gatehouse device wipe EMAIL DEVICEID [--account-only]` over activesync's device API.
func (s *Service) device(ctx context.Context, req Request) (string, error) {
	var account int64
	if req.Email != "" {
		acct, err := s.st.AccountByEmail(ctx, req.Email)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("no user %s", req.Email)
			}
			return "", err
		}
		account = acct.ID
	}
	switch req.Op {
	case "device.list":
		devs, err := activesync.ListDevices(ctx, s.st, account)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tDEVICE ID\tTYPE\tMODEL\tUSER AGENT\tVERSION\tLAST SEEN\tLAST SYNC\tWIPE")
		for _, d := range devs {
			model := d.Model
			if d.FriendlyName != "" && d.FriendlyName != d.Model {
				model = strings.TrimSpace(model + " (" + d.FriendlyName + ")")
			}
			wipe := d.Wipe
			if wipe == "" {
				wipe = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Email, d.DeviceID, dash(d.DeviceType), dash(model),
				dash(d.UserAgent), dash(d.ProtocolVersion), when(d.LastSeen), when(d.LastSync), wipe)
		}
		w.Flush()
		return b.String(), nil
	case "device.wipe":
		if req.Email == "" || req.DeviceID == "" {
			return "", fmt.Errorf("%w: device wipe EMAIL DEVICEID [--account-only]", errUsage)
		}
		err := activesync.RequestWipe(ctx, s.st, account, req.DeviceID, req.AccountOnly)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("no device %s for %s", req.DeviceID, req.Email)
		case errors.Is(err, activesync.ErrAccountOnlyWipeUnsupported):
			return "", fmt.Errorf("device %s cannot remove only this account's data (that needs ActiveSync 16.1); "+
				"wipe the whole device without --account-only, or change the password and delete the account from the device", req.DeviceID)
		case err != nil:
			return "", err
		}
		what := "erase the whole device (factory reset)"
		if req.AccountOnly {
			what = "remove this account's data from the device"
		}
		return fmt.Sprintf("wipe requested for device %s of %s: it will %s the next time it connects\n", req.DeviceID, req.Email, what), nil
	}
	return "", fmt.Errorf("%w: unknown operation %q", errUsage, req.Op)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
